// Fetch (API 1), v4-v11: reference §4.1 and §7 pitfalls 10-14.
//
// Each partition is read from its log up to the high watermark (single node: the log end), as
// whole batches, the first partition with data getting at least one whole batch even beyond the
// byte limits (KIP-74). The record bytes are not copied: the response carries file regions of
// the segment files, sent with sendfile(2), each pinning its segment's open file.
// If fewer than MinBytes are available the request is parked: it is re-evaluated after each
// append to one of its partitions and answered once MinBytes are there or MaxWaitMs passes.

#include <chrono>
#include <mutex>

#include "broker/broker_metrics.h"
#include "broker/errors.h"
#include "broker/handlers/handlers.h"
#include "broker/protocol/generated/fetch_request.h"
#include "broker/protocol/generated/fetch_response.h"

namespace varve::broker {
namespace {

using protocol::FetchRequest;
using protocol::FetchResponse;

// A parked fetch; owned by shared_ptr so partition waiters and the timer can refer to it.
struct ParkedFetch : std::enable_shared_from_this<ParkedFetch> {
  std::mutex mu;
  RequestPtr ctx;  // null once answered
  FetchRequest request;
  uint64_t timer = 0;
};

struct Evaluation {
  FetchResponse response;
  int64_t bytes = 0;
  bool has_error = false;
  // Each readable partition's log end when evaluated: an append after that is caught by
  // comparing, closing the gap between evaluating and registering as a waiter.
  std::vector<std::pair<std::shared_ptr<Log>, int64_t>> ends;
};

int64_t NowNs() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

Evaluation Evaluate(const RequestContext& ctx, const FetchRequest& request) {
  const Services& s = *ctx.services;
  Evaluation e;
  e.response.responses.reserve(request.topics.size());
  int64_t budget = request.max_bytes > 0 ? request.max_bytes : 0;
  for (const FetchRequest::FetchTopic& topic : request.topics) {
    FetchResponse::FetchableTopicResponse& out = e.response.responses.emplace_back();
    out.topic = topic.topic;
    std::shared_ptr<const Topic> t = s.topics->Get(topic.topic);
    for (const FetchRequest::FetchPartition& p : topic.partitions) {
      FetchResponse::PartitionData& result = out.partitions.emplace_back();
      result.partition_index = p.partition;
      result.high_watermark = -1;
      result.last_stable_offset = -1;
      result.log_start_offset = -1;
      result.aborted_transactions.emplace();  // empty, not null
      result.preferred_read_replica = -1;
      if (!t || p.partition < 0 || p.partition >= static_cast<int32_t>(t->partitions.size())) {
        result.error_code = kUnknownTopicOrPartition;
        e.has_error = true;
        continue;
      }
      const Log& log = t->partitions[p.partition]->log();
      if (p.current_leader_epoch > log.leader_epoch()) {
        result.error_code = kUnknownLeaderEpoch;
        e.has_error = true;
        continue;
      }
      if (p.current_leader_epoch >= 0 && p.current_leader_epoch < log.leader_epoch()) {
        result.error_code = kFencedLeaderEpoch;
        e.has_error = true;
        continue;
      }
      const int64_t start = log.start_offset();
      const int64_t end = log.end_offset();
      e.ends.emplace_back(t->partitions[p.partition]->shared_log(), end);
      result.high_watermark = end;
      result.last_stable_offset = end;  // no transactions: LSO = HW
      result.log_start_offset = start;
      if (p.fetch_offset < start || p.fetch_offset > end) {
        result.error_code = kOffsetOutOfRange;
        e.has_error = true;
        continue;
      }
      if (p.fetch_offset == end) continue;
      const bool first_data = e.bytes == 0;
      int64_t limit = std::min<int64_t>(std::max(p.partition_max_bytes, 0), budget);
      if (limit <= 0 && !first_data) continue;
      absl::StatusOr<ReadResult> read = log.Read(p.fetch_offset, std::max<int64_t>(limit, 1), end);
      if (!read.ok()) {
        // Retention may have moved the start past the offset since we looked.
        result.error_code = absl::IsOutOfRange(read.status())
                                ? kOffsetOutOfRange
                                : (ctx.api_version >= 6 ? kKafkaStorageError : kUnknownServerError);
        e.has_error = true;
        continue;
      }
      // Only the first partition with data may exceed the limits (KIP-74 minOneMessage).
      if (!first_data && read->size_bytes > limit) continue;
      for (const FileSlice& slice : read->slices) {
        if (slice.fd() >= 0) {
          auto pin = std::make_shared<FileSlice>(slice);
          result.records.AddFile(
              {.fd = slice.fd(), .offset = slice.position, .size = slice.size, .pin = pin});
        } else {
          std::string bytes;
          if (!slice.AppendTo(&bytes).ok()) break;
          result.records.AddBytes(std::move(bytes));
        }
      }
      e.bytes += read->size_bytes;
      budget -= read->size_bytes;
      if (s.metrics && !read->slices.empty()) {
        s.metrics->CountFetched(topic.topic, read->size_bytes,
                                read->slices.back().last_offset - p.fetch_offset + 1);
      }
    }
  }
  return e;
}

void Send(RequestPtr ctx, Evaluation& e) {
  if (ctx->services->metrics) {
    for (const auto& t : e.response.responses) {
      for (const auto& p : t.partitions) {
        if (p.error_code != kNone) ctx->services->metrics->CountError(ctx->api_key, p.error_code);
      }
    }
    ctx->services->metrics->ObserveFetchLatency(NowNs() - ctx->request.received_ns);
  }
  SendResponse(*ctx, e.response);
}

// Re-evaluates a parked fetch: answers it if it has enough bytes (or `final`), else re-arms the
// partition waiters.
void Retry(const std::shared_ptr<ParkedFetch>& parked, bool final) {
  std::unique_lock lock(parked->mu);
  if (!parked->ctx) return;
  const Services& s = *parked->ctx->services;
  while (true) {
    Evaluation e = Evaluate(*parked->ctx, parked->request);
    if (final || e.has_error || e.bytes >= parked->request.min_bytes) {
      RequestPtr ctx = std::move(parked->ctx);
      const uint64_t timer = parked->timer;
      lock.unlock();
      if (!final && timer != 0) ctx->services->timers->Cancel(timer);
      Send(std::move(ctx), e);
      return;
    }
    // Not enough yet: wait for the next append to any of the partitions.
    std::weak_ptr<ParkedFetch> weak = parked;
    for (const FetchRequest::FetchTopic& topic : parked->request.topics) {
      for (const FetchRequest::FetchPartition& p : topic.partitions) {
        if (auto partition = s.topics->GetPartition(topic.topic, p.partition)) {
          partition->WaitForData(parked, [weak] {
            if (auto self = weak.lock()) Retry(self, /*final=*/false);
          });
        }
      }
    }
    bool moved = false;
    for (const auto& [log, end] : e.ends) moved |= log->end_offset() != end;
    if (!moved) return;  // any later append will notify us
  }
}

}  // namespace

void HandleFetch(RequestPtr ctx) {
  FetchRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  Evaluation e = Evaluate(*ctx, request);
  if (request.max_wait_ms <= 0 || e.has_error || e.bytes >= request.min_bytes ||
      request.topics.empty()) {
    Send(std::move(ctx), e);
    return;
  }
  auto parked = std::make_shared<ParkedFetch>();
  Timers* timers = ctx->services->timers;
  parked->ctx = std::move(ctx);
  parked->request = std::move(request);
  {
    std::lock_guard lock(parked->mu);
    parked->timer =
        timers->Schedule(parked->request.max_wait_ms, [parked] { Retry(parked, true); });
  }
  Retry(parked, /*final=*/false);
}

}  // namespace varve::broker
