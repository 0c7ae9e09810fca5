// DeleteRecords (API 21) v0-v2: raises partitions' log start offsets (Kafka's
// `kafka-delete-records.sh`, librdkafka's rd_kafka_DeleteRecords). Reference §2.10.
//
// Per partition: Offset -1 means the high watermark (single node: the log end); any other
// negative offset or one above the high watermark is OFFSET_OUT_OF_RANGE; an offset at or below
// the current log start changes nothing. The answer's low watermark is the log start offset
// afterwards. Segments wholly below it are deleted at once and the new start is persisted
// before the answer, so it survives a crash. As in Kafka, the internal __consumer_offsets topic
// is refused with INVALID_TOPIC_EXCEPTION (its records are the groups' state).
//
// Like the other admin operations (admin.cc) this touches the disk (segment deletion, a
// checkpoint fsync) on the loop thread: rare, a few milliseconds.

#include <cstdio>
#include <string>

#include "broker/broker_metrics.h"
#include "broker/errors.h"
#include "broker/group/records.h"
#include "broker/handlers/handlers.h"
#include "broker/protocol/generated/delete_records_request.h"
#include "broker/protocol/generated/delete_records_response.h"

namespace varve::broker {

void HandleDeleteRecords(RequestPtr ctx) {
  protocol::DeleteRecordsRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  protocol::DeleteRecordsResponse response;
  for (const auto& topic : request.topics) {
    auto& topic_out = response.topics.emplace_back();
    topic_out.name = topic.name;
    std::shared_ptr<const Topic> t = s.topics->Get(topic.name);
    for (const auto& p : topic.partitions) {
      auto& out = topic_out.partitions.emplace_back();
      out.partition_index = p.partition_index;
      out.low_watermark = -1;
      if (!t || p.partition_index < 0 ||
          p.partition_index >= static_cast<int32_t>(t->partitions.size())) {
        out.error_code = kUnknownTopicOrPartition;
      } else if (topic.name == group::kOffsetsTopic) {
        out.error_code = kInvalidTopicException;
      } else {
        Log& log = t->partitions[p.partition_index]->log();
        const int64_t high_watermark = log.end_offset();
        const int64_t offset = p.offset == -1 ? high_watermark : p.offset;
        if (offset < 0 || offset > high_watermark) {
          out.error_code = kOffsetOutOfRange;
        } else {
          absl::StatusOr<Log::RetentionResult> r = log.DeleteRecordsBefore(offset, high_watermark);
          if (r.ok()) {
            out.low_watermark = log.start_offset();
          } else if (absl::IsOutOfRange(r.status())) {
            out.error_code = kOffsetOutOfRange;
          } else if (absl::IsFailedPrecondition(r.status())) {
            out.error_code = kUnknownTopicOrPartition;  // deleted meanwhile: its log is closed
          } else {
            std::fprintf(stderr, "varve-broker: DeleteRecords on %s-%d failed: %s\n",
                         topic.name.c_str(), p.partition_index,
                         std::string(r.status().message()).c_str());
            out.error_code = kKafkaStorageError;
          }
        }
      }
      if (out.error_code != kNone && s.metrics) {
        s.metrics->CountError(ctx->api_key, out.error_code);
      }
    }
  }
  SendResponse(*ctx, response);
}

}  // namespace varve::broker
