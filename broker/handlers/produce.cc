// Produce (API 0), v3-v7: reference §1.4 (validation, offsets, idempotence) and §4.1 (acks).
//
// Every partition's batch is validated, checked against its producer's state, and appended on
// the loop thread (appends never wait for the disk). Then:
//   acks=0  -> no response at all;
//   acks=1  -> answered at once;
//   acks=-1 -> answered once an fdatasync covers every appended batch (Log::WhenDurable, on a
//              background thread), or with REQUEST_TIMED_OUT for those still waiting when
//              TimeoutMs runs out (their data is written and may still become durable).

#include <chrono>
#include <mutex>

#include "broker/broker_metrics.h"
#include "broker/errors.h"
#include "broker/group/records.h"
#include "broker/handlers/handlers.h"
#include "broker/protocol/generated/produce_request.h"
#include "broker/protocol/generated/produce_response.h"
#include "log/batch_validator.h"

namespace varve::broker {
namespace {

using protocol::ProduceRequest;
using protocol::ProduceResponse;
using PartitionResult = ProduceResponse::PartitionProduceResponse;

ErrorCode ErrorForRule(BatchRule rule) {
  switch (rule) {
    case BatchRule::kTooLarge:
      return kMessageTooLarge;
    case BatchRule::kNonZeroBaseOffset:
    case BatchRule::kMultipleBatches:
    case BatchRule::kBadRecordCount:
    case BatchRule::kControlBatchFromClient:
    case BatchRule::kMissingSequence:
    case BatchRule::kBadOffsetDelta:
    case BatchRule::kBadMagic:
      return kInvalidRecord;
    case BatchRule::kLogAppendTimeFromClient:
      return kInvalidTimestamp;
    case BatchRule::kUnknownCompression:
      return kUnsupportedCompressionType;
    default:
      return kCorruptMessage;
  }
}

// Storage failures: KAFKA_STORAGE_ERROR exists from Produce v4 on.
ErrorCode StorageError(int16_t version) {
  return version >= 4 ? kKafkaStorageError : kUnknownServerError;
}

// Shared by the durability callbacks and the timeout of an acks=-1 request.
struct PendingProduce {
  std::mutex mu;
  RequestPtr ctx;  // null once answered
  ProduceResponse response;
  int waiting = 0;
  std::vector<bool> confirmed;  // per batch waiting for durability
  uint64_t timer = 0;
  int64_t started_ns = 0;
};

void Answer(const std::shared_ptr<PendingProduce>& p, std::unique_lock<std::mutex>& lock) {
  RequestPtr ctx = std::move(p->ctx);
  ProduceResponse response = std::move(p->response);
  lock.unlock();
  if (!ctx) return;
  const Services& s = *ctx->services;
  if (s.metrics) {
    for (const auto& t : response.responses) {
      for (const auto& r : t.partition_responses) {
        if (r.error_code != kNone) s.metrics->CountError(ctx->api_key, r.error_code);
      }
    }
    s.metrics->ObserveProduceLatency(std::chrono::steady_clock::now().time_since_epoch().count() -
                                     ctx->request.received_ns);
  }
  SendResponse(*ctx, response);
}

}  // namespace

void HandleProduce(RequestPtr ctx) {
  ProduceRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  auto pending = std::make_shared<PendingProduce>();
  ProduceResponse& response = pending->response;
  struct Durable {
    PartitionResult* result;
    std::shared_ptr<Log> log;
    int64_t end_offset;
  };
  std::vector<Durable> durable;
  const bool acks_valid = request.acks == 0 || request.acks == 1 || request.acks == -1;

  response.responses.reserve(request.topic_data.size());
  for (ProduceRequest::TopicProduceData& topic : request.topic_data) {
    ProduceResponse::TopicProduceResponse& topic_result = response.responses.emplace_back();
    topic_result.name = topic.name;
    std::shared_ptr<const Topic> t = s.topics->Get(topic.name);
    topic_result.partition_responses.reserve(topic.partition_data.size());
    for (ProduceRequest::PartitionProduceData& data : topic.partition_data) {
      PartitionResult& result = topic_result.partition_responses.emplace_back();
      result.index = data.index;
      result.base_offset = -1;
      result.log_append_time_ms = -1;
      result.log_start_offset = -1;
      auto fail = [&](ErrorCode code, std::string message) {
        result.error_code = code;
        result.error_message = std::move(message);
      };
      if (!acks_valid) {
        fail(kInvalidRequiredAcks, "acks must be -1, 0 or 1");
        continue;
      }
      if (request.transactional_id.has_value()) {
        fail(kInvalidRequest, "transactions are not supported");
        continue;
      }
      if (topic.name == group::kOffsetsTopic) {
        fail(kInvalidTopicException, "cannot produce to the internal topic __consumer_offsets");
        continue;
      }
      if (!t || data.index < 0 || data.index >= static_cast<int32_t>(t->partitions.size())) {
        fail(kUnknownTopicOrPartition, "unknown topic or partition");
        continue;
      }
      Partition& partition = *t->partitions[data.index];
      absl::Span<char> batch = data.records.data();
      if (data.records.is_null() || batch.empty()) {
        fail(kCorruptMessage, "no record batch");
        continue;
      }
      ValidationOptions validation;
      validation.max_message_bytes = t->config.max_message_bytes;
      BatchHeader header;
      BatchCheck check =
          ValidateBatch(absl::string_view(batch.data(), batch.size()), validation, &header);
      if (!check.ok()) {
        fail(ErrorForRule(check.rule), std::string(check.ToStatus().message()));
        continue;
      }
      if (header.size_bytes() > t->config.segment_bytes) {
        fail(kRecordListTooLarge, "batch is larger than segment.bytes");
        continue;
      }
      absl::StatusOr<AppendInfo> info;
      if (header.producer_id >= 0) {
        std::lock_guard lock(partition.produce_mu());
        ProducerStateTable::Verdict verdict = partition.producers().Check(header);
        switch (verdict.kind) {
          case ProducerStateTable::Verdict::kDuplicate:
            result.base_offset = verdict.base_offset;
            result.log_start_offset = partition.log().start_offset();
            // Durable only if it was already; wait for it like for a new append.
            durable.push_back({&result, partition.shared_log(), verdict.last_offset + 1});
            continue;
          case ProducerStateTable::Verdict::kOutOfOrder:
            fail(kOutOfOrderSequenceNumber, verdict.detail);
            continue;
          case ProducerStateTable::Verdict::kInvalidEpoch:
            fail(kInvalidProducerEpoch, verdict.detail);
            continue;
          case ProducerStateTable::Verdict::kAppend:
            break;
        }
        info = partition.log().AppendValidatedBatch(batch, header);
        if (info.ok()) {
          if (info->roll != RollReason::kNone) {
            partition.SnapshotProducersInBackground(info->base_offset, partition.producers());
          }
          header.base_offset = info->base_offset;
          partition.producers().Record(header);
        }
      } else {
        info = partition.log().AppendValidatedBatch(batch, header);
        if (info.ok() && info->roll != RollReason::kNone) {
          partition.SnapshotProducersInBackground(info->base_offset);
        }
      }
      if (!info.ok()) {
        // A closed log is a deleted topic (or shutdown): retriable for the client.
        fail(absl::IsFailedPrecondition(info.status()) ? kNotLeaderOrFollower
             : absl::IsInvalidArgument(info.status())  ? kCorruptMessage
                                                       : StorageError(ctx->api_version),
             std::string(info.status().message()));
        continue;
      }
      partition.NotifyAppended();
      result.base_offset = info->base_offset;
      result.log_start_offset = partition.log().start_offset();
      if (s.metrics)
        s.metrics->CountProduced(topic.name, header.size_bytes(), header.records_count);
      durable.push_back({&result, partition.shared_log(), info->last_offset + 1});
    }
  }

  if (request.acks == 0) {
    ctx->slot.SendNothing();
    return;
  }
  std::unique_lock lock(pending->mu);
  pending->ctx = std::move(ctx);
  if (request.acks != -1 || durable.empty()) {
    Answer(pending, lock);
    return;
  }
  pending->waiting = static_cast<int>(durable.size());
  pending->confirmed.assign(durable.size(), false);
  const int64_t timeout_ms = std::max<int64_t>(request.timeout_ms, 0);
  lock.unlock();
  for (size_t i = 0; i < durable.size(); ++i) {
    PartitionResult* result = durable[i].result;
    durable[i].log->WhenDurable(durable[i].end_offset, [pending, result, i](absl::Status status) {
      std::unique_lock lock(pending->mu);
      if (!pending->ctx) return;  // timed out already
      pending->confirmed[i] = true;
      if (!status.ok()) {
        result->error_code = StorageError(pending->ctx->api_version);
        result->error_message = std::string(status.message());
      }
      if (--pending->waiting > 0) return;
      const uint64_t timer = pending->timer;
      Timers* timers = pending->ctx->services->timers;
      Answer(pending, lock);
      if (timer != 0) timers->Cancel(timer);
    });
  }
  lock.lock();
  if (!pending->ctx || pending->waiting == 0) return;
  std::vector<PartitionResult*> results;
  for (const Durable& d : durable) results.push_back(d.result);
  pending->timer =
      pending->ctx->services->timers->Schedule(timeout_ms, [pending, results = std::move(results)] {
        std::unique_lock lock(pending->mu);
        if (!pending->ctx) return;
        // Written but not yet known durable: the client may retry (idempotent producers get
        // the original offsets back).
        for (size_t i = 0; i < results.size(); ++i) {
          if (!pending->confirmed[i] && results[i]->error_code == kNone) {
            results[i]->error_code = kRequestTimedOut;
            results[i]->error_message = "timed out waiting for the fdatasync";
          }
        }
        Answer(pending, lock);
      });
}

}  // namespace varve::broker
