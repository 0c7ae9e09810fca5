// ListOffsets (API 2), v1-v5: reference §4.1. -1 is the high watermark (single node: the log
// end; with no transactions the LSO is the same), -2 the log start, and a timestamp the first
// offset whose record timestamp is at or after it, through the time index (Offset -1 and
// Timestamp -1 when every record is older), exact inside compressed batches too (TopicManager
// gives the logs a decompressor). A batch that cannot be decoded gives KAFKA_STORAGE_ERROR,
// never a wrong offset.

#include <cstdio>
#include <string>

#include "broker/broker_metrics.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/protocol/generated/list_offsets_request.h"
#include "broker/protocol/generated/list_offsets_response.h"

namespace varve::broker {

void HandleListOffsets(RequestPtr ctx) {
  protocol::ListOffsetsRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  protocol::ListOffsetsResponse response;
  for (const auto& topic : request.topics) {
    auto& topic_out = response.topics.emplace_back();
    topic_out.name = topic.name;
    std::shared_ptr<const Topic> t = s.topics->Get(topic.name);
    for (const auto& p : topic.partitions) {
      auto& out = topic_out.partitions.emplace_back();
      out.partition_index = p.partition_index;
      out.timestamp = -1;
      out.offset = -1;
      out.leader_epoch = -1;
      if (!t || p.partition_index < 0 ||
          p.partition_index >= static_cast<int32_t>(t->partitions.size())) {
        out.error_code = kUnknownTopicOrPartition;
        continue;
      }
      const Log& log = t->partitions[p.partition_index]->log();
      if (p.current_leader_epoch > log.leader_epoch()) {
        out.error_code = kUnknownLeaderEpoch;
        continue;
      }
      if (p.current_leader_epoch >= 0 && p.current_leader_epoch < log.leader_epoch()) {
        out.error_code = kFencedLeaderEpoch;
        continue;
      }
      if (p.timestamp == -1) {
        out.offset = log.end_offset();
        out.leader_epoch = log.leader_epoch();
      } else if (p.timestamp == -2) {
        out.offset = log.start_offset();
        out.leader_epoch = log.leader_epoch();
      } else if (p.timestamp < 0) {
        out.error_code = kInvalidRequest;  // -3 (max timestamp) needs v7, not advertised
      } else {
        absl::StatusOr<std::optional<TimestampAndOffset>> found =
            log.OffsetForTimestamp(p.timestamp);
        if (!found.ok()) {
          // The response has no message: the file and position the engine names go to the log.
          std::fprintf(stderr, "varve-broker: ListOffsets on %s-%d by timestamp %lld: %s\n",
                       topic.name.c_str(), p.partition_index, static_cast<long long>(p.timestamp),
                       std::string(found.status().message()).c_str());
          out.error_code = kKafkaStorageError;
        } else if (found->has_value()) {
          out.offset = (*found)->offset;
          out.timestamp = (*found)->timestamp;
          out.leader_epoch = log.leader_epoch();
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
