// GroupCoordinator: SyncGroup, Heartbeat, LeaveGroup and persisting group metadata. Joins and
// rebalances are in coordinator.cc, offsets in coordinator_offsets.cc.

#include <cstdio>

#include "broker/errors.h"
#include "broker/group/coordinator.h"
#include "broker/group/coordinator_state.h"

namespace varve::broker::group {

void GroupCoordinator::PersistGroup(Group& g) {
  GroupRecord record{.group = g.id, .value = GroupMetadataRecord{}};
  GroupMetadataRecord& v = *record.value;
  v.protocol_type = g.protocol_type;
  v.generation = g.generation;
  v.protocol = g.protocol;
  if (!g.leader.empty()) v.leader = g.leader;
  v.state_timestamp_ms = g.state_timestamp_ms;
  if (g.state == GroupState::kStable) {
    for (const auto& [id, m] : g.members) {
      MemberRecord& mr = v.members.emplace_back();
      mr.member_id = id;
      mr.client_id = m.client_id;
      mr.client_host = m.client_host;
      mr.rebalance_timeout_ms = m.rebalance_timeout_ms;
      mr.session_timeout_ms = m.session_timeout_ms;
      const std::string* metadata = g.protocol ? m.MetadataFor(*g.protocol) : nullptr;
      if (metadata) mr.subscription = *metadata;
      mr.assignment = m.assignment;
    }
  }
  store_->Append({std::move(record)}, [id = g.id](absl::Status s) {
    if (!s.ok()) {
      std::fprintf(stderr, "varve-broker: persisting group %s failed: %s\n", id.c_str(),
                   std::string(s.message()).c_str());
    }
  });
}

void GroupCoordinator::Sync(const std::string& group_id, int32_t generation,
                            const std::string& member_id, Protocols assignments,
                            std::function<void(SyncResult)> done) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    Group* g = FindGroup(group_id);
    auto fail = [&](int16_t error) { actions.push_back([done, error] { done({error, ""}); }); };
    Member* m = nullptr;
    if (g) {
      auto it = g->members.find(member_id);
      if (it != g->members.end()) m = &it->second;
    }
    if (stopped_ || !started_) {
      fail(stopped_ ? kCoordinatorNotAvailable : kCoordinatorLoadInProgress);
    } else if (group_id.empty()) {
      fail(kInvalidGroupId);
    } else if (!g || !m) {
      fail(kUnknownMemberId);
    } else if (g->state == GroupState::kDead) {
      fail(kCoordinatorNotAvailable);
    } else if (generation != g->generation) {
      fail(kIllegalGeneration);
    } else {
      m->last_seen_ms = Now();
      switch (g->state) {
        case GroupState::kEmpty:
        case GroupState::kDead:
          fail(kUnknownMemberId);
          break;
        case GroupState::kPreparingRebalance:
          fail(kRebalanceInProgress);
          break;
        case GroupState::kStable:
          actions.push_back([done, a = m->assignment] { done({kNone, a}); });
          break;
        case GroupState::kCompletingRebalance:
          if (m->sync_done) {
            actions.push_back([cb = std::move(m->sync_done)] { cb({kRebalanceInProgress, ""}); });
          }
          m->sync_done = std::move(done);
          if (member_id == g->leader) {
            for (auto& [id, member] : g->members) member.assignment.clear();
            for (auto& [id, assignment] : assignments) {
              auto it = g->members.find(id);
              if (it != g->members.end()) it->second.assignment = std::move(assignment);
            }
            g->state = GroupState::kStable;
            g->state_timestamp_ms = Now();
            for (auto& [id, member] : g->members) {
              if (!member.sync_done) continue;
              actions.push_back([cb = std::move(member.sync_done), a = member.assignment] {
                cb({kNone, a});
              });
              member.sync_done = nullptr;
            }
            PersistGroup(*g);
          }
          break;
      }
    }
  }
  Run(actions);
}

int16_t GroupCoordinator::Heartbeat(const std::string& group_id, int32_t generation,
                                    const std::string& member_id) {
  std::lock_guard lock(mu_);
  if (stopped_) return kCoordinatorNotAvailable;
  if (!started_) return kCoordinatorLoadInProgress;
  if (group_id.empty()) return kInvalidGroupId;
  Group* g = FindGroup(group_id);
  if (!g) return kUnknownMemberId;
  if (g->state == GroupState::kDead) return kCoordinatorNotAvailable;
  if (g->state == GroupState::kEmpty) return kUnknownMemberId;
  auto it = g->members.find(member_id);
  if (it == g->members.end()) return kUnknownMemberId;
  if (generation != g->generation) return kIllegalGeneration;
  it->second.last_seen_ms = Now();
  return g->state == GroupState::kPreparingRebalance ? kRebalanceInProgress : kNone;
}

std::vector<int16_t> GroupCoordinator::Leave(const std::string& group_id,
                                             const std::vector<std::string>& members,
                                             int16_t* group_error) {
  Actions actions;
  std::vector<int16_t> errors(members.size(), kNone);
  *group_error = kNone;
  {
    std::lock_guard lock(mu_);
    Group* g = FindGroup(group_id);
    if (stopped_ || !started_) {
      *group_error = stopped_ ? kCoordinatorNotAvailable : kCoordinatorLoadInProgress;
    } else if (group_id.empty()) {
      *group_error = kInvalidGroupId;
    } else if (!g) {
      *group_error = kUnknownMemberId;
    } else if (g->state == GroupState::kDead) {
      *group_error = kCoordinatorNotAvailable;
    } else {
      for (size_t i = 0; i < members.size(); ++i) {
        if (auto p = g->pending_members.find(members[i]); p != g->pending_members.end()) {
          CancelTimer(p->second);
          g->pending_members.erase(p);
          MaybeCompleteJoin(*g, &actions);
        } else if (!g->members.count(members[i])) {
          errors[i] = kUnknownMemberId;
        } else {
          RemoveMember(*g, members[i], &actions);
        }
      }
    }
  }
  Run(actions);
  return errors;
}

}  // namespace varve::broker::group
