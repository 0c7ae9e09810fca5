// GroupCoordinator: SyncGroup, Heartbeat, LeaveGroup and persisting group metadata. Joins and
// rebalances are in coordinator.cc, offsets in coordinator_offsets.cc.

#include <cstdio>
#include <memory>
#include <mutex>

#include "broker/errors.h"
#include "broker/group/coordinator.h"
#include "broker/group/coordinator_state.h"

namespace varve::broker::group {

void GroupCoordinator::PersistGroup(Group& g, const std::map<std::string, std::string>* assignments,
                                    std::function<void(absl::Status, Actions*)> on_done,
                                    Actions* actions) {
  GroupRecord record{.group = g.id, .value = GroupMetadataRecord{}};
  GroupMetadataRecord& v = *record.value;
  v.protocol_type = g.protocol_type;
  v.generation = g.generation;
  v.protocol = g.protocol;
  if (!g.leader.empty()) v.leader = g.leader;
  v.state_timestamp_ms = g.state_timestamp_ms;
  if (g.state == GroupState::kStable || assignments != nullptr) {
    for (const auto& [id, m] : g.members) {
      MemberRecord& mr = v.members.emplace_back();
      mr.member_id = id;
      mr.client_id = m.client_id;
      mr.client_host = m.client_host;
      mr.rebalance_timeout_ms = m.rebalance_timeout_ms;
      mr.session_timeout_ms = m.session_timeout_ms;
      const std::string* metadata = g.protocol ? m.MetadataFor(*g.protocol) : nullptr;
      if (metadata) mr.subscription = *metadata;
      if (assignments == nullptr) {
        mr.assignment = m.assignment;
      } else if (auto it = assignments->find(id); it != assignments->end()) {
        mr.assignment = it->second;
      }
    }
  }
  if (!on_done) {
    store_->Append({std::move(record)}, [id = g.id](absl::Status s) {
      if (!s.ok()) {
        std::fprintf(stderr, "varve-broker: persisting group %s failed: %s\n", id.c_str(),
                     std::string(s.message()).c_str());
      }
    });
    return;
  }
  // The append is made under mu_ so records reach the log in the order of the state changes.
  // A store that completes on another thread (GroupLog) runs `on_done` there under the lock;
  // one that completes inside Append (while we hold mu_) leaves the status for us to apply.
  struct Completion {
    std::mutex mu;
    bool in_append = true;
    bool done_inline = false;
    absl::Status status;
  };
  auto completion = std::make_shared<Completion>();
  store_->Append({std::move(record)}, [this, completion, on_done](absl::Status s) {
    {
      std::lock_guard c(completion->mu);
      if (completion->in_append) {
        completion->done_inline = true;
        completion->status = std::move(s);
        return;
      }
    }
    Actions later;
    {
      std::lock_guard lock(mu_);
      on_done(std::move(s), &later);
    }
    Run(later);
  });
  bool done_inline;
  absl::Status status;
  {
    std::lock_guard c(completion->mu);
    completion->in_append = false;
    done_inline = completion->done_inline;
    status = completion->status;
  }
  if (done_inline) on_done(std::move(status), actions);
}

void GroupCoordinator::OnAssignmentPersisted(const std::string& group_id, int32_t generation,
                                             absl::Status status, Actions* actions) {
  Group* g = FindGroup(group_id);
  // A member that left or joined meanwhile started a new rebalance; its answers went out then.
  if (!g || g->generation != generation || g->persisting_generation != generation ||
      g->state != GroupState::kCompletingRebalance) {
    return;
  }
  g->persisting_generation = -1;
  std::map<std::string, std::string> assignments;
  assignments.swap(g->staged_assignments);
  if (!status.ok()) {
    std::fprintf(stderr, "varve-broker: persisting the assignment of group %s failed: %s\n",
                 group_id.c_str(), std::string(status.message()).c_str());
    // Kafka: the members learn the error (retriable for clients) and the group rebalances.
    for (auto& [id, member] : g->members) {
      if (!member.sync_done) continue;
      actions->push_back([cb = std::move(member.sync_done)] {
        cb({kCoordinatorNotAvailable, ""});
      });
      member.sync_done = nullptr;
    }
    if (!stopped_) PrepareRebalance(*g, actions);
    return;
  }
  for (auto& [id, member] : g->members) {
    auto it = assignments.find(id);
    member.assignment = it == assignments.end() ? std::string() : std::move(it->second);
  }
  g->state = GroupState::kStable;
  g->state_timestamp_ms = Now();
  for (auto& [id, member] : g->members) {
    if (!member.sync_done) continue;
    actions->push_back([cb = std::move(member.sync_done), a = member.assignment] {
      cb({kNone, a});
    });
    member.sync_done = nullptr;
  }
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
          if (member_id == g->leader && g->persisting_generation != g->generation) {
            // The assignment is answered once its record is durable (Kafka's storeGroup), so
            // a crash cannot lose a generation the members already work with.
            g->staged_assignments.clear();
            for (auto& [id, assignment] : assignments) {
              if (g->members.count(id)) g->staged_assignments[id] = std::move(assignment);
            }
            g->persisting_generation = g->generation;
            PersistGroup(
                *g, &g->staged_assignments,
                [this, group_id, generation = g->generation](absl::Status s, Actions* a) {
                  OnAssignmentPersisted(group_id, generation, std::move(s), a);
                },
                &actions);
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
