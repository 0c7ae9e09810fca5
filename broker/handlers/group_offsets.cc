// Committed offsets: OffsetCommit (8) v2-v7 and OffsetFetch (9) v1-v5. Reference §4.1, §4.4.
//
// A commit is answered only once its records are durable in __consumer_offsets and applied to
// RocksDB (broker/group/group_log.h); the answer comes from the group log's applier thread.

#include <map>
#include <memory>

#include "broker/broker_metrics.h"
#include "broker/errors.h"
#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"
#include "broker/protocol/generated/offset_commit_request.h"
#include "broker/protocol/generated/offset_commit_response.h"
#include "broker/protocol/generated/offset_fetch_request.h"
#include "broker/protocol/generated/offset_fetch_response.h"

namespace varve::broker {
namespace {

int16_t Unavailable(const Services& s) {
  if (!s.coordinator) return kCoordinatorNotAvailable;
  return s.coordinator->ready() ? kNone : kCoordinatorLoadInProgress;
}

}  // namespace

void HandleOffsetCommit(RequestPtr ctx) {
  protocol::OffsetCommitRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  // The response mirrors the request's topics and partitions, in order.
  auto response = std::make_shared<protocol::OffsetCommitResponse>();
  std::vector<group::CommitPartition> partitions;
  for (auto& t : request.topics) {
    auto& out = response->topics.emplace_back();
    out.name = t.name;
    for (auto& p : t.partitions) {
      out.partitions.emplace_back().partition_index = p.partition_index;
      partitions.push_back({.topic = t.name,
                            .partition = p.partition_index,
                            .offset = p.committed_offset,
                            .leader_epoch = p.committed_leader_epoch,
                            .metadata = std::move(p.committed_metadata)});
    }
  }
  std::shared_ptr<RequestContext> shared(ctx.release());
  auto answer = [shared, response](const std::vector<int16_t>& errors) {
    size_t i = 0;
    for (auto& t : response->topics) {
      for (auto& p : t.partitions) {
        p.error_code = i < errors.size() ? errors[i] : int16_t{kUnknownServerError};
        ++i;
        if (p.error_code != kNone && shared->services->metrics) {
          shared->services->metrics->CountError(shared->api_key, p.error_code);
        }
      }
    }
    SendResponse(*shared, *response);
  };
  if (int16_t e = Unavailable(s); e != kNone) {
    answer(std::vector<int16_t>(partitions.size(), e));
    return;
  }
  s.coordinator->Commit(request.group_id, request.generation_id_or_member_epoch, request.member_id,
                        std::move(partitions), std::move(answer));
}

void HandleOffsetFetch(RequestPtr ctx) {
  protocol::OffsetFetchRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  protocol::OffsetFetchResponse response;
  const int16_t unavailable = Unavailable(s);
  std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> wanted;
  if (request.topics.has_value()) {
    wanted.emplace();
    for (const auto& t : *request.topics) wanted->emplace_back(t.name, t.partition_indexes);
  }
  std::vector<group::FetchedOffset> offsets;
  if (unavailable == kNone) {
    offsets = s.coordinator->FetchOffsets(request.group_id, wanted);
  } else if (wanted) {
    for (const auto& [topic, parts] : *wanted) {
      for (int32_t p : parts) offsets.push_back({.topic = topic, .partition = p});
    }
  }
  std::map<std::string, size_t> topic_index;
  for (const group::FetchedOffset& f : offsets) {
    auto [it, added] = topic_index.emplace(f.topic, response.topics.size());
    if (added) response.topics.emplace_back().name = f.topic;
    auto& p = response.topics[it->second].partitions.emplace_back();
    p.partition_index = f.partition;
    p.committed_offset = f.offset;
    p.committed_leader_epoch = f.leader_epoch;
    p.metadata = f.metadata;
    // v1 has no top-level error: the partitions carry it.
    p.error_code = ctx->api_version < 2 ? unavailable : int16_t{kNone};
  }
  response.error_code = unavailable;
  if (unavailable != kNone && s.metrics) s.metrics->CountError(ctx->api_key, unavailable);
  SendResponse(*ctx, response);
}

}  // namespace varve::broker
