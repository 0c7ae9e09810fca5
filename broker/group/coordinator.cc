#include "broker/group/coordinator.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/errors.h"
#include "broker/group/coordinator_state.h"

namespace varve::broker::group {

const char* GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kEmpty:
      return "Empty";
    case GroupState::kPreparingRebalance:
      return "PreparingRebalance";
    case GroupState::kCompletingRebalance:
      return "CompletingRebalance";
    case GroupState::kStable:
      return "Stable";
    case GroupState::kDead:
      return "Dead";
  }
  return "Dead";
}

GroupCoordinator::GroupCoordinator(CoordinatorOptions options, GroupStore* store,
                                   LoadedGroups loaded)
    : options_(std::move(options)), store_(store), random_(std::random_device{}()) {
  const int64_t now = Now();
  for (auto& [id, record] : loaded.groups) {
    Group& g = GetOrCreateGroup(id);
    g.generation = record.generation;
    g.protocol_type = record.protocol_type;
    g.protocol = record.protocol;
    g.leader = record.leader.value_or("");
    g.state_timestamp_ms = record.state_timestamp_ms;
    for (MemberRecord& mr : record.members) {
      Member& m = g.members[mr.member_id];
      m.id = mr.member_id;
      m.client_id = mr.client_id;
      m.client_host = mr.client_host;
      m.session_timeout_ms = mr.session_timeout_ms;
      m.rebalance_timeout_ms = mr.rebalance_timeout_ms;
      m.protocol_type = record.protocol_type;
      if (record.protocol) m.protocols = {{*record.protocol, mr.subscription}};
      m.assignment = mr.assignment;
      m.last_seen_ms = now;
    }
    g.state = g.has_members() && g.protocol ? GroupState::kStable : GroupState::kEmpty;
    if (g.state == GroupState::kEmpty) g.members.clear();
  }
  for (auto& [key, value] : loaded.offsets) {
    GetOrCreateGroup(key.group).offsets[{key.topic, key.partition}] = value;
  }
}

GroupCoordinator::~GroupCoordinator() { Stop(); }

void GroupCoordinator::Start(GroupTimers* timers) {
  std::lock_guard lock(mu_);
  timers_ = timers;
  started_ = true;
  for (auto& [id, g] : groups_) {
    for (auto& [mid, m] : g->members) ScheduleSession(*g, m, m.session_timeout_ms);
  }
}

bool GroupCoordinator::ready() const {
  std::lock_guard lock(mu_);
  return started_ && !stopped_;
}

void GroupCoordinator::Stop() {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  stopped_ = true;
  if (timers_) {
    for (const auto& [token, id] : live_timers_) timers_->Cancel(id);
  }
  live_timers_.clear();
}

void GroupCoordinator::Run(Actions& actions) {
  for (auto& a : actions) a();
  actions.clear();
}

uint64_t GroupCoordinator::Schedule(int64_t delay_ms, std::function<void(uint64_t)> fn) {
  const uint64_t token = ++next_token_;
  if (!timers_ || stopped_) return token;
  const uint64_t id = timers_->Schedule(delay_ms, [this, token, fn = std::move(fn)] {
    {
      std::lock_guard lock(mu_);
      if (live_timers_.erase(token) == 0 || stopped_) return;
    }
    fn(token);
  });
  live_timers_[token] = id;
  return token;
}

void GroupCoordinator::CancelTimer(uint64_t token) {
  auto it = live_timers_.find(token);
  if (it == live_timers_.end()) return;
  if (timers_) timers_->Cancel(it->second);
  live_timers_.erase(it);
}

GroupCoordinator::Group* GroupCoordinator::FindGroup(const std::string& id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

GroupCoordinator::Group& GroupCoordinator::GetOrCreateGroup(const std::string& id) {
  std::unique_ptr<Group>& g = groups_[id];
  if (!g) {
    g = std::make_unique<Group>();
    g->id = id;
    g->state_timestamp_ms = Now();
  }
  return *g;
}

std::string GroupCoordinator::NewMemberId(const std::string& client_id) {
  const uint64_t a = random_(), b = random_();
  // A version-4 UUID, as Kafka's member ids end with.
  return absl::StrFormat("%s-%08x-%04x-4%03x-%04x-%012x", client_id, a >> 32, (a >> 16) & 0xffff,
                         a & 0xfff, 0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

bool GroupCoordinator::SupportsProtocols(const Group& g, const std::string& type,
                                         const Protocols& protocols, const Member* ignoring) const {
  if (type.empty() || protocols.empty()) return false;
  size_t others = 0;
  for (const auto& [id, m] : g.members) others += &m != ignoring;
  if (others == 0) return true;
  if (g.protocol_type != type) return false;
  for (const auto& [name, metadata] : protocols) {
    bool everyone = true;
    for (const auto& [id, m] : g.members) {
      if (&m != ignoring && !m.MetadataFor(name)) {
        everyone = false;
        break;
      }
    }
    if (everyone) return true;
  }
  return false;
}

std::optional<std::string> GroupCoordinator::SelectProtocol(const Group& g) const {
  if (g.members.empty()) return std::nullopt;
  // Candidates: supported by every member, in the first member's order of preference (that
  // order breaks ties between equal vote counts, deterministically).
  std::vector<std::string> candidates;
  for (const auto& [name, metadata] : g.members.begin()->second.protocols) {
    bool everyone = true;
    for (const auto& [id, m] : g.members) everyone &= m.MetadataFor(name) != nullptr;
    if (everyone) candidates.push_back(name);
  }
  if (candidates.empty()) return std::nullopt;
  std::map<std::string, int> votes;
  for (const auto& [id, m] : g.members) {
    for (const auto& [name, metadata] : m.protocols) {
      if (std::find(candidates.begin(), candidates.end(), name) != candidates.end()) {
        ++votes[name];
        break;
      }
    }
  }
  std::string best = candidates.front();
  for (const std::string& c : candidates) {
    if (votes[c] > votes[best]) best = c;
  }
  return best;
}

JoinResult GroupCoordinator::CurrentJoinResult(const Group& g, const std::string& member_id) const {
  JoinResult r;
  r.generation = g.generation;
  r.protocol_name = g.protocol.value_or("");
  r.leader = g.leader;
  r.member_id = member_id;
  if (member_id == g.leader && g.protocol) {
    for (const auto& [id, m] : g.members) {
      const std::string* metadata = m.MetadataFor(*g.protocol);
      r.members.emplace_back(id, metadata ? *metadata : "");
    }
  }
  return r;
}

void GroupCoordinator::Join(JoinArgs args, std::function<void(JoinResult)> done) {
  Actions actions;
  auto fail = [&](int16_t error, std::string member_id = "") {
    JoinResult r;
    r.error = error;
    r.member_id = std::move(member_id);
    actions.push_back([done, r] { done(r); });
  };
  {
    std::lock_guard lock(mu_);
    Group* existing = FindGroup(args.group_id);
    if (stopped_ || !started_) {
      fail(stopped_ ? kCoordinatorNotAvailable : kCoordinatorLoadInProgress);
    } else if (args.group_id.empty()) {
      fail(kInvalidGroupId);
    } else if (args.session_timeout_ms < options_.min_session_timeout_ms ||
               args.session_timeout_ms > options_.max_session_timeout_ms) {
      fail(kInvalidSessionTimeout);
    } else if (args.group_instance_id.has_value()) {
      fail(kInvalidRequest);  // static membership: see the class comment
    } else if (!args.member_id.empty() && !existing) {
      fail(kUnknownMemberId);
    } else {
      Group& g = existing ? *existing : GetOrCreateGroup(args.group_id);
      Member* member = nullptr;
      if (auto it = g.members.find(args.member_id); it != g.members.end()) member = &it->second;
      const bool pending = !args.member_id.empty() && g.pending_members.count(args.member_id);
      if (g.state == GroupState::kDead) {
        fail(kCoordinatorNotAvailable);
      } else if (!SupportsProtocols(g, args.protocol_type, args.protocols, member)) {
        fail(kInconsistentGroupProtocol);
      } else if (args.member_id.empty()) {
        std::string id = NewMemberId(args.client_id);
        if (args.require_known_member_id) {
          // KIP-394: the member must come back with this id; it counts as joining meanwhile.
          const std::string group_id = g.id;
          g.pending_members[id] = Schedule(args.session_timeout_ms, [this, group_id, id](uint64_t) {
            OnPendingMemberTimer(group_id, id);
          });
          fail(kMemberIdRequired, id);
        } else {
          AddMember(g, args, std::move(id), std::move(done), &actions);
        }
      } else if (pending) {
        CancelTimer(g.pending_members[args.member_id]);
        g.pending_members.erase(args.member_id);
        AddMember(g, args, args.member_id, std::move(done), &actions);
      } else if (!member) {
        fail(kUnknownMemberId);
      } else {
        Member& m = *member;
        m.last_seen_ms = Now();
        switch (g.state) {
          case GroupState::kPreparingRebalance:
            UpdateMemberAndRebalance(g, m, args, std::move(done), &actions);
            break;
          case GroupState::kCompletingRebalance:
            if (m.protocols == args.protocols) {
              // The member missed the join response: send it again.
              JoinResult r = CurrentJoinResult(g, m.id);
              actions.push_back([done, r] { done(r); });
            } else {
              UpdateMemberAndRebalance(g, m, args, std::move(done), &actions);
            }
            break;
          case GroupState::kStable:
            if (m.id == g.leader || m.protocols != args.protocols) {
              UpdateMemberAndRebalance(g, m, args, std::move(done), &actions);
            } else {
              JoinResult r = CurrentJoinResult(g, m.id);
              actions.push_back([done, r] { done(r); });
            }
            break;
          case GroupState::kEmpty:
          case GroupState::kDead:
            fail(kUnknownMemberId);
            break;
        }
      }
      // A refused first join leaves no group behind.
      if (!existing && g.members.empty() && g.pending_members.empty() && g.offsets.empty()) {
        groups_.erase(args.group_id);
      }
    }
  }
  Run(actions);
}

void GroupCoordinator::AddMember(Group& g, const JoinArgs& args, std::string member_id,
                                 std::function<void(JoinResult)> done, Actions* actions) {
  Member& m = g.members[member_id];
  m.id = std::move(member_id);
  m.client_id = args.client_id;
  m.client_host = args.client_host;
  m.session_timeout_ms = args.session_timeout_ms;
  m.rebalance_timeout_ms = args.rebalance_timeout_ms;
  m.protocol_type = args.protocol_type;
  m.protocols = args.protocols;
  m.join_done = std::move(done);
  m.last_seen_ms = Now();
  if (g.members.size() == 1) g.protocol_type = args.protocol_type;
  if (g.leader.empty() || !g.members.count(g.leader)) g.leader = m.id;
  ScheduleSession(g, m, m.session_timeout_ms);
  g.new_member_added = true;
  if (g.state == GroupState::kPreparingRebalance) {
    MaybeCompleteJoin(g, actions);
  } else {
    PrepareRebalance(g, actions);
  }
}

void GroupCoordinator::UpdateMemberAndRebalance(Group& g, Member& m, const JoinArgs& args,
                                                std::function<void(JoinResult)> done,
                                                Actions* actions) {
  m.protocols = args.protocols;
  m.session_timeout_ms = args.session_timeout_ms;
  m.rebalance_timeout_ms = args.rebalance_timeout_ms;
  m.client_id = args.client_id;
  m.client_host = args.client_host;
  if (m.join_done) {
    // A second JoinGroup before the first was answered: the client gave up on the first.
    actions->push_back([old = std::move(m.join_done)] {
      JoinResult r;
      r.error = kRebalanceInProgress;
      old(r);
    });
  }
  m.join_done = std::move(done);
  if (g.state == GroupState::kPreparingRebalance) {
    MaybeCompleteJoin(g, actions);
  } else {
    PrepareRebalance(g, actions);
  }
}

void GroupCoordinator::PrepareRebalance(Group& g, Actions* actions) {
  if (g.state == GroupState::kCompletingRebalance) {
    // Followers waiting for the assignment must rejoin.
    for (auto& [id, m] : g.members) {
      if (m.sync_done) {
        actions->push_back([cb = std::move(m.sync_done)] { cb(SyncResult{kRebalanceInProgress}); });
        m.sync_done = nullptr;
      }
    }
  }
  const bool was_empty = g.state == GroupState::kEmpty;
  g.state = GroupState::kPreparingRebalance;
  g.state_timestamp_ms = Now();
  g.rebalance_started_ms = Now();
  g.initial_delay = was_empty && options_.initial_rebalance_delay_ms > 0;
  g.new_member_added = false;
  if (g.initial_delay) {
    g.rebalance_delay_ms = std::min<int64_t>(options_.initial_rebalance_delay_ms,
                                             std::max(g.MaxRebalanceTimeoutMs(), 0));
    ScheduleRebalanceTimer(g, g.rebalance_delay_ms);
  } else {
    ScheduleRebalanceTimer(g, g.MaxRebalanceTimeoutMs());
  }
  MaybeCompleteJoin(g, actions);
}

void GroupCoordinator::ScheduleRebalanceTimer(Group& g, int64_t delay_ms) {
  CancelTimer(g.rebalance_token);
  g.rebalance_token =
      Schedule(delay_ms, [this, id = g.id](uint64_t token) { OnRebalanceTimer(id, token); });
}

void GroupCoordinator::OnRebalanceTimer(const std::string& group_id, uint64_t token) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    Group* g = FindGroup(group_id);
    if (!g || g->rebalance_token != token || g->state != GroupState::kPreparingRebalance) return;
    g->rebalance_token = 0;
    if (g->initial_delay) {
      const int64_t remaining = g->MaxRebalanceTimeoutMs() - (Now() - g->rebalance_started_ms);
      if (g->new_member_added && remaining > 0) {
        g->new_member_added = false;
        ScheduleRebalanceTimer(*g, std::min(options_.initial_rebalance_delay_ms, remaining));
        return;
      }
      g->initial_delay = false;
    }
    CompleteJoin(*g, &actions);
  }
  Run(actions);
}

void GroupCoordinator::MaybeCompleteJoin(Group& g, Actions* actions) {
  if (g.state != GroupState::kPreparingRebalance || g.initial_delay) return;
  if (!g.pending_members.empty()) return;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join()) return;
  }
  CompleteJoin(g, actions);
}

void GroupCoordinator::CompleteJoin(Group& g, Actions* actions) {
  CancelTimer(g.rebalance_token);
  g.rebalance_token = 0;
  g.initial_delay = false;
  // Members that did not rejoin in time are gone.
  std::vector<std::string> absent;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join()) absent.push_back(id);
  }
  for (const std::string& id : absent) {
    CancelTimer(g.members[id].session_token);
    if (g.members[id].sync_done) {
      actions->push_back(
          [cb = std::move(g.members[id].sync_done)] { cb(SyncResult{kUnknownMemberId}); });
    }
    g.members.erase(id);
  }
  ++g.generation;
  g.state_timestamp_ms = Now();
  if (g.members.empty()) {
    g.state = GroupState::kEmpty;
    g.protocol.reset();
    g.leader.clear();
    PersistGroup(g);
    return;
  }
  g.protocol = SelectProtocol(g);
  if (!g.members.count(g.leader)) g.leader = g.members.begin()->first;
  g.state = GroupState::kCompletingRebalance;
  for (auto& [id, m] : g.members) {
    JoinResult r = CurrentJoinResult(g, id);
    actions->push_back([cb = std::move(m.join_done), r] { cb(r); });
    m.join_done = nullptr;
    m.last_seen_ms = Now();
    m.assignment.clear();
  }
}

void GroupCoordinator::RemoveMember(Group& g, const std::string& member_id, Actions* actions) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  Member& m = it->second;
  CancelTimer(m.session_token);
  if (m.join_done) {
    actions->push_back([cb = std::move(m.join_done)] {
      JoinResult r;
      r.error = kUnknownMemberId;
      cb(r);
    });
  }
  if (m.sync_done) {
    actions->push_back([cb = std::move(m.sync_done)] { cb(SyncResult{kUnknownMemberId}); });
  }
  g.members.erase(it);
  switch (g.state) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance:
      PrepareRebalance(g, actions);
      break;
    case GroupState::kPreparingRebalance:
      MaybeCompleteJoin(g, actions);
      break;
    default:
      break;
  }
}

void GroupCoordinator::ScheduleSession(Group& g, Member& m, int64_t delay_ms) {
  CancelTimer(m.session_token);
  m.session_token = Schedule(delay_ms, [this, group_id = g.id, member_id = m.id](uint64_t token) {
    OnSessionTimer(group_id, member_id, token);
  });
}

void GroupCoordinator::OnSessionTimer(const std::string& group_id, const std::string& member_id,
                                      uint64_t token) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    Group* g = FindGroup(group_id);
    if (!g) return;
    auto it = g->members.find(member_id);
    if (it == g->members.end() || it->second.session_token != token) return;
    Member& m = it->second;
    // A member waiting for its join or sync answer is alive by definition (Kafka's rule);
    // the rebalance timeout bounds the join.
    const int64_t left = m.last_seen_ms + m.session_timeout_ms - Now();
    if (m.awaiting_join() || m.sync_done) {
      ScheduleSession(*g, m, m.session_timeout_ms);
    } else if (left > 0) {
      ScheduleSession(*g, m, left);
    } else {
      RemoveMember(*g, member_id, &actions);
    }
  }
  Run(actions);
}

void GroupCoordinator::OnPendingMemberTimer(const std::string& group_id,
                                            const std::string& member_id) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    Group* g = FindGroup(group_id);
    if (!g || g->pending_members.erase(member_id) == 0) return;
    MaybeCompleteJoin(*g, &actions);
  }
  Run(actions);
}

}  // namespace varve::broker::group
