#pragma once

// The coordinator's per-group and per-member state, shared by coordinator.cc (joins and
// rebalances), coordinator_sync.cc (sync, heartbeat, leave) and coordinator_offsets.cc
// (offsets and admin). Private to broker/group; guarded by the coordinator's mutex.

#include <map>
#include <string>

#include "broker/group/coordinator.h"

namespace varve::broker::group {

struct GroupCoordinator::Member {
  std::string id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  Protocols protocols;
  std::string assignment;
  std::function<void(JoinResult)> join_done;  // set while awaiting the join's completion
  std::function<void(SyncResult)> sync_done;  // set while awaiting the leader's assignment
  int64_t last_seen_ms = 0;
  uint64_t session_token = 0;  // the live session timer

  bool awaiting_join() const { return static_cast<bool>(join_done); }
  const std::string* MetadataFor(const std::string& protocol) const {
    for (const auto& [name, metadata] : protocols) {
      if (name == protocol) return &metadata;
    }
    return nullptr;
  }
};

struct GroupCoordinator::Group {
  std::string id;
  GroupState state = GroupState::kEmpty;
  int32_t generation = 0;
  std::string protocol_type;
  std::optional<std::string> protocol;
  std::string leader;
  std::map<std::string, Member> members;
  std::map<std::string, uint64_t> pending_members;  // MEMBER_ID_REQUIRED ids -> timer token
  std::map<std::pair<std::string, int32_t>, CommittedOffset> offsets;
  int64_t state_timestamp_ms = 0;
  // The current rebalance's timer; in the initial delay of a group that was Empty,
  // `initial_delay` is set and `new_member_added` says whether to extend it.
  uint64_t rebalance_token = 0;
  bool initial_delay = false;
  bool new_member_added = false;
  int64_t rebalance_started_ms = 0;
  int64_t rebalance_delay_ms = 0;  // the current step of the initial delay
  // The leader's assignment of this generation, while its metadata record is being made
  // durable (SyncGroup answers wait for it, as in Kafka); persisting_generation is then the
  // generation, -1 otherwise.
  int32_t persisting_generation = -1;
  std::map<std::string, std::string> staged_assignments;

  bool has_members() const { return !members.empty(); }
  int32_t MaxRebalanceTimeoutMs() const {
    int32_t t = 0;
    for (const auto& [id, m] : members) t = std::max(t, m.rebalance_timeout_ms);
    return t;
  }
};

}  // namespace varve::broker::group
