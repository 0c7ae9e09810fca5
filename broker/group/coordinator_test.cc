#include "broker/group/coordinator.h"

#include <memory>
#include <thread>

#include "broker/errors.h"
#include "broker/group/testing.h"
#include "gtest/gtest.h"

namespace varve::broker::group {
namespace {

constexpr int32_t kSession = 10000;
constexpr int32_t kRebalance = 30000;

struct JoinHolder {
  std::optional<JoinResult> result;
};
struct SyncHolder {
  std::optional<SyncResult> result;
};

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(/*delay_ms=*/0); }

  void Make(int64_t delay_ms, LoadedGroups loaded = {}) {
    if (coordinator_) coordinator_->Stop();
    coordinator_.reset();
    CoordinatorOptions o;
    o.initial_rebalance_delay_ms = delay_ms;
    o.min_session_timeout_ms = 1000;
    o.max_session_timeout_ms = 60000;
    o.offset_metadata_max_bytes = 10;
    o.offsets_retention_ms = 60000;
    o.now_ms = [this] { return timers_.now(); };
    o.partition_exists = [](const std::string& t, int32_t p) {
      return t == "t" && p >= 0 && p < 6;
    };
    coordinator_ = std::make_unique<GroupCoordinator>(o, &store_, std::move(loaded));
    coordinator_->Start(&timers_);
  }

  JoinArgs Args(const std::string& member, Protocols protocols = {{"range", "m"}},
                int32_t rebalance = kRebalance) {
    JoinArgs a;
    a.group_id = "g";
    a.member_id = member;
    a.client_id = "client";
    a.client_host = "/127.0.0.1";
    a.session_timeout_ms = kSession;
    a.rebalance_timeout_ms = rebalance;
    a.protocol_type = "consumer";
    a.protocols = std::move(protocols);
    return a;
  }

  std::shared_ptr<JoinHolder> Join(JoinArgs args) {
    auto h = std::make_shared<JoinHolder>();
    coordinator_->Join(std::move(args), [h](JoinResult r) { h->result = r; });
    return h;
  }
  std::shared_ptr<SyncHolder> Sync(const std::string& member, int32_t generation,
                                   Protocols assignments = {}) {
    auto h = std::make_shared<SyncHolder>();
    coordinator_->Sync("g", generation, member, std::move(assignments),
                       [h](SyncResult r) { h->result = r; });
    return h;
  }
  std::vector<int16_t> Commit(int32_t generation, const std::string& member,
                              std::vector<CommitPartition> parts) {
    std::vector<int16_t> out;
    coordinator_->Commit("g", generation, member, std::move(parts),
                         [&](std::vector<int16_t> e) { out = std::move(e); });
    return out;
  }
  GroupState State() { return coordinator_->Describe("g").state; }

  // One member that joined and synced: the group is Stable at generation 1.
  std::string StableSingle() {
    auto j = Join(Args(""));
    EXPECT_TRUE(j->result.has_value());
    EXPECT_EQ(j->result->error, kNone);
    auto s = Sync(j->result->member_id, j->result->generation, {{j->result->member_id, "a"}});
    EXPECT_EQ(s->result->error, kNone);
    EXPECT_EQ(State(), GroupState::kStable);
    return j->result->member_id;
  }

  FakeTimers timers_;
  MemoryGroupStore store_;
  std::unique_ptr<GroupCoordinator> coordinator_;
};

TEST_F(CoordinatorTest, FirstJoinWithoutDelayCompletesAtOnceAndLeads) {
  auto j = Join(Args(""));
  ASSERT_TRUE(j->result.has_value());
  EXPECT_EQ(j->result->error, kNone);
  EXPECT_EQ(j->result->generation, 1);
  EXPECT_EQ(j->result->protocol_name, "range");
  EXPECT_EQ(j->result->leader, j->result->member_id);
  EXPECT_TRUE(j->result->member_id.rfind("client-", 0) == 0) << j->result->member_id;
  EXPECT_EQ(j->result->member_id.size(), std::string("client-").size() + 36);
  ASSERT_EQ(j->result->members.size(), 1u);
  EXPECT_EQ(j->result->members[0].second, "m");
  EXPECT_EQ(State(), GroupState::kCompletingRebalance);
}

TEST_F(CoordinatorTest, MemberIdRequiredOnlyWhenTheVersionAsksForIt) {
  JoinArgs a = Args("");
  a.require_known_member_id = true;
  auto first = Join(a);
  ASSERT_TRUE(first->result.has_value());
  EXPECT_EQ(first->result->error, kMemberIdRequired);
  ASSERT_FALSE(first->result->member_id.empty());
  a.member_id = first->result->member_id;
  auto second = Join(a);
  ASSERT_TRUE(second->result.has_value());
  EXPECT_EQ(second->result->error, kNone);
  EXPECT_EQ(second->result->member_id, first->result->member_id);
}

TEST_F(CoordinatorTest, PendingMemberThatNeverReturnsExpiresAndUnblocksTheRebalance) {
  const std::string a = StableSingle();
  JoinArgs b = Args("");
  b.require_known_member_id = true;
  EXPECT_EQ(Join(b)->result->error, kMemberIdRequired);
  auto rejoin = Join(Args(a));  // the leader rejoins: a rebalance, blocked by the pending id
  EXPECT_FALSE(rejoin->result.has_value());
  timers_.Advance(kSession + 1);
  ASSERT_TRUE(rejoin->result.has_value());
  EXPECT_EQ(rejoin->result->generation, 2);
}

TEST_F(CoordinatorTest, JoinValidation) {
  JoinArgs a = Args("");
  a.group_id = "";
  EXPECT_EQ(Join(a)->result->error, kInvalidGroupId);
  a = Args("");
  a.session_timeout_ms = 999;
  EXPECT_EQ(Join(a)->result->error, kInvalidSessionTimeout);
  a.session_timeout_ms = 60001;
  EXPECT_EQ(Join(a)->result->error, kInvalidSessionTimeout);
  EXPECT_EQ(Join(Args("client-unknown"))->result->error, kUnknownMemberId);
  a = Args("");
  a.group_instance_id = "static-1";
  EXPECT_EQ(Join(a)->result->error, kInvalidRequest);
  a = Args("");
  a.protocols.clear();
  EXPECT_EQ(Join(a)->result->error, kInconsistentGroupProtocol);
  EXPECT_TRUE(coordinator_->ListGroups().empty());  // refused joins leave no group behind
}

TEST_F(CoordinatorTest, UnknownMemberIdInAnExistingGroup) {
  StableSingle();
  EXPECT_EQ(Join(Args("client-nope"))->result->error, kUnknownMemberId);
}

TEST_F(CoordinatorTest, ProtocolTypeMismatchIsInconsistent) {
  StableSingle();
  JoinArgs b = Args("");
  b.protocol_type = "connect";
  EXPECT_EQ(Join(b)->result->error, kInconsistentGroupProtocol);
  EXPECT_EQ(State(), GroupState::kStable);
}

TEST_F(CoordinatorTest, NoCommonProtocolIsInconsistentNeverASplit) {
  StableSingle();  // range only
  auto b = Join(Args("", {{"my-own-assignor", "x"}}));
  EXPECT_EQ(b->result->error, kInconsistentGroupProtocol);
  EXPECT_EQ(State(), GroupState::kStable);
  EXPECT_EQ(coordinator_->Describe("g").members.size(), 1u);
}

TEST_F(CoordinatorTest, ProtocolSelectedByVotesAmongThoseEveryoneSupports) {
  Make(/*delay_ms=*/1000);
  auto a = Join(Args("", {{"roundrobin", "a"}, {"range", "a"}, {"only-a", "a"}}));
  auto b = Join(Args("", {{"range", "b"}, {"roundrobin", "b"}}));
  auto c = Join(Args("", {{"range", "c"}, {"roundrobin", "c"}}));
  EXPECT_FALSE(a->result.has_value());
  timers_.Advance(10000);
  ASSERT_TRUE(a->result && b->result && c->result);
  EXPECT_EQ(a->result->protocol_name, "range");
  EXPECT_EQ(b->result->generation, 1);
  // Everyone in one generation; only the leader sees the members, with the chosen protocol's
  // metadata.
  const std::string leader = a->result->leader;
  for (auto* h : {&a, &b, &c}) {
    EXPECT_EQ((*h)->result->leader, leader);
    EXPECT_EQ((*h)->result->members.size(), (*h)->result->member_id == leader ? 3u : 0u);
  }
}

TEST_F(CoordinatorTest, InitialDelayIsExtendedByNewJoinsUpToTheRebalanceTimeout) {
  Make(/*delay_ms=*/3000);
  auto a = Join(Args("", {{"range", "m"}}, /*rebalance=*/10000));
  timers_.Advance(2000);
  auto b = Join(Args("", {{"range", "m"}}, 10000));
  timers_.Advance(1000);  // the first delay ends, but b joined meanwhile: extended
  EXPECT_FALSE(a->result.has_value());
  timers_.Advance(3000);
  ASSERT_TRUE(a->result.has_value());
  ASSERT_TRUE(b->result.has_value());
  EXPECT_EQ(a->result->generation, 1);
  EXPECT_EQ(b->result->generation, 1);
}

TEST_F(CoordinatorTest, InitialDelayNeverExceedsTheRebalanceTimeout) {
  Make(/*delay_ms=*/3000);
  auto a = Join(Args("", {{"range", "m"}}, /*rebalance=*/4000));
  std::vector<std::shared_ptr<JoinHolder>> others;
  for (int i = 0; i < 3; ++i) {
    timers_.Advance(1000);
    others.push_back(Join(Args("", {{"range", "m"}}, 4000)));
  }
  EXPECT_FALSE(a->result.has_value());  // t = 3000: extended
  timers_.Advance(1000);                // t = 4000: the rebalance timeout bounds it
  ASSERT_TRUE(a->result.has_value());
  EXPECT_EQ(a->result->generation, 1);
}

TEST_F(CoordinatorTest, NewMemberRebalancesAndKeepsTheLeaderThatRejoined) {
  const std::string a = StableSingle();
  auto b = Join(Args(""));
  EXPECT_FALSE(b->result.has_value());
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  EXPECT_EQ(coordinator_->Heartbeat("g", 1, a), kRebalanceInProgress);
  auto ra = Join(Args(a));
  ASSERT_TRUE(ra->result.has_value());
  ASSERT_TRUE(b->result.has_value());
  EXPECT_EQ(ra->result->generation, 2);
  EXPECT_EQ(b->result->generation, 2);
  EXPECT_EQ(ra->result->leader, a);
  EXPECT_EQ(b->result->leader, a);
  EXPECT_EQ(ra->result->members.size(), 2u);
  EXPECT_TRUE(b->result->members.empty());
}

TEST_F(CoordinatorTest, RebalanceTimeoutRemovesMembersThatDidNotRejoin) {
  const std::string a = StableSingle();
  auto b = Join(Args(""));
  // a heartbeats (its session stays alive) but never rejoins.
  for (int t = 0; t + 5000 < kRebalance; t += 5000) {
    timers_.Advance(5000);
    EXPECT_EQ(coordinator_->Heartbeat("g", 1, a), kRebalanceInProgress);
  }
  EXPECT_FALSE(b->result.has_value());
  timers_.Advance(5000);
  ASSERT_TRUE(b->result.has_value());
  EXPECT_EQ(b->result->generation, 2);
  EXPECT_EQ(b->result->leader, b->result->member_id);
  EXPECT_EQ(coordinator_->Heartbeat("g", 2, a), kUnknownMemberId);
}

TEST_F(CoordinatorTest, SessionExpiryRemovesTheMemberAndRebalances) {
  Make(/*delay_ms=*/100);
  auto a = Join(Args(""));
  auto b = Join(Args(""));
  timers_.Advance(300);
  ASSERT_TRUE(a->result && b->result);
  const std::string leader = a->result->leader;
  const std::string ida = a->result->member_id, idb = b->result->member_id;
  auto sa = Sync(ida, 1, {{ida, "A"}, {idb, "B"}});
  auto sb = Sync(idb, 1, {{ida, "A"}, {idb, "B"}});
  ASSERT_TRUE(sa->result && sb->result);
  // b heartbeats, a goes silent.
  for (int i = 0; i < 4; ++i) {
    timers_.Advance(kSession / 4);
    EXPECT_EQ(coordinator_->Heartbeat("g", 1, idb), i < 3 ? kNone : kRebalanceInProgress);
  }
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  auto rb = Join(Args(idb));
  ASSERT_TRUE(rb->result.has_value());
  EXPECT_EQ(rb->result->generation, 2);
  EXPECT_EQ(rb->result->leader, idb);
  EXPECT_EQ(coordinator_->Heartbeat("g", 2, ida), kUnknownMemberId);
}

TEST_F(CoordinatorTest, SyncWaitsForTheLeadersAssignment) {
  Make(/*delay_ms=*/100);
  auto a = Join(Args(""));
  auto b = Join(Args(""));
  timers_.Advance(300);
  const std::string leader = a->result->leader;
  const std::string follower =
      leader == a->result->member_id ? b->result->member_id : a->result->member_id;
  auto fs = Sync(follower, 1);
  EXPECT_FALSE(fs->result.has_value());
  EXPECT_EQ(coordinator_->Heartbeat("g", 1, follower), kNone);  // CompletingRebalance: 0
  auto ls = Sync(leader, 1, {{leader, "for-leader"}, {follower, "for-follower"}});
  ASSERT_TRUE(fs->result.has_value());
  ASSERT_TRUE(ls->result.has_value());
  EXPECT_EQ(fs->result->assignment, "for-follower");
  EXPECT_EQ(ls->result->assignment, "for-leader");
  EXPECT_EQ(State(), GroupState::kStable);
  // A later sync in Stable gets the same assignment back.
  EXPECT_EQ(Sync(follower, 1)->result->assignment, "for-follower");
  // Persisted with the members and their assignments.
  const auto records = store_.appended();
  ASSERT_FALSE(records.empty());
  const auto* g = std::get_if<GroupRecord>(&records.back());
  ASSERT_NE(g, nullptr);
  ASSERT_TRUE(g->value.has_value());
  EXPECT_EQ(g->value->generation, 1);
  EXPECT_EQ(g->value->members.size(), 2u);
}

TEST_F(CoordinatorTest, SyncErrors) {
  const std::string a = StableSingle();
  EXPECT_EQ(Sync(a, 7)->result->error, kIllegalGeneration);
  EXPECT_EQ(Sync("client-x", 1)->result->error, kUnknownMemberId);
  auto b = Join(Args(""));
  EXPECT_EQ(Sync(a, 1)->result->error, kRebalanceInProgress);
  coordinator_->Sync("nogroup", 1, a, {},
                     [](SyncResult r) { EXPECT_EQ(r.error, kUnknownMemberId); });
}

TEST_F(CoordinatorTest, FollowersWaitingInSyncAreToldToRejoinWhenARebalanceStarts) {
  Make(/*delay_ms=*/100);
  auto a = Join(Args(""));
  auto b = Join(Args(""));
  timers_.Advance(300);
  const std::string leader = a->result->leader;
  const std::string follower =
      leader == a->result->member_id ? b->result->member_id : a->result->member_id;
  auto fs = Sync(follower, 1);
  auto c = Join(Args(""));  // a new member during CompletingRebalance
  ASSERT_TRUE(fs->result.has_value());
  EXPECT_EQ(fs->result->error, kRebalanceInProgress);
}

// Two members in CompletingRebalance at generation 1 (initial delay 100 ms).
struct TwoMembers {
  std::string leader, follower;
};

class DurableSyncTest : public CoordinatorTest {
 protected:
  TwoMembers Completing() {
    Make(/*delay_ms=*/100);
    auto a = Join(Args(""));
    auto b = Join(Args(""));
    timers_.Advance(300);
    EXPECT_TRUE(a->result.has_value() && b->result.has_value());
    TwoMembers t;
    t.leader = a->result->leader;
    t.follower = t.leader == a->result->member_id ? b->result->member_id : a->result->member_id;
    EXPECT_EQ(State(), GroupState::kCompletingRebalance);
    store_.auto_complete = false;
    return t;
  }
  size_t GroupRecordsWithMembers() {
    size_t n = 0;
    for (const CoordinatorRecord& r : store_.appended()) {
      if (const auto* g = std::get_if<GroupRecord>(&r);
          g && g->value && !g->value->members.empty()) {
        ++n;
      }
    }
    return n;
  }
};

TEST_F(DurableSyncTest, AssignmentIsAnsweredOnlyOnceItsRecordIsDurable) {
  TwoMembers t = Completing();
  auto fs = Sync(t.follower, 1);
  auto ls = Sync(t.leader, 1, {{t.leader, "L"}, {t.follower, "F"}, {"client-gone", "X"}});
  EXPECT_FALSE(ls->result.has_value());
  EXPECT_FALSE(fs->result.has_value());
  EXPECT_EQ(State(), GroupState::kCompletingRebalance);
  EXPECT_EQ(coordinator_->Heartbeat("g", 1, t.follower), kNone);
  // The record carries the staged assignment of the members that exist.
  ASSERT_EQ(GroupRecordsWithMembers(), 1u);
  const std::vector<CoordinatorRecord> appended = store_.appended();
  const auto& rec = std::get<GroupRecord>(appended.back());
  ASSERT_EQ(rec.value->members.size(), 2u);
  for (const MemberRecord& m : rec.value->members) {
    EXPECT_EQ(m.assignment, m.member_id == t.leader ? "L" : "F");
  }
  store_.Complete();
  ASSERT_TRUE(ls->result.has_value());
  ASSERT_TRUE(fs->result.has_value());
  EXPECT_EQ(ls->result->error, kNone);
  EXPECT_EQ(ls->result->assignment, "L");
  EXPECT_EQ(fs->result->error, kNone);
  EXPECT_EQ(fs->result->assignment, "F");
  EXPECT_EQ(State(), GroupState::kStable);
  // A member that syncs after that gets its assignment at once.
  auto late = Sync(t.follower, 1);
  ASSERT_TRUE(late->result.has_value());
  EXPECT_EQ(late->result->assignment, "F");
}

TEST_F(DurableSyncTest, ALeaderRetryWhilePersistingWritesNoSecondRecord) {
  TwoMembers t = Completing();
  auto first = Sync(t.leader, 1, {{t.leader, "L"}, {t.follower, "F"}});
  auto retry = Sync(t.leader, 1, {{t.leader, "L2"}, {t.follower, "F2"}});
  ASSERT_TRUE(first->result.has_value());  // superseded, as for any repeated SyncGroup
  EXPECT_EQ(first->result->error, kRebalanceInProgress);
  EXPECT_EQ(GroupRecordsWithMembers(), 1u);
  store_.Complete();
  ASSERT_TRUE(retry->result.has_value());
  EXPECT_EQ(retry->result->error, kNone);
  EXPECT_EQ(retry->result->assignment, "L");  // what was made durable
}

TEST_F(DurableSyncTest, AFailedWriteAnswersCoordinatorNotAvailableAndRebalances) {
  TwoMembers t = Completing();
  auto fs = Sync(t.follower, 1);
  auto ls = Sync(t.leader, 1, {{t.leader, "L"}, {t.follower, "F"}});
  store_.fail_with = absl::UnavailableError("disk gone");
  store_.Complete();
  ASSERT_TRUE(ls->result.has_value());
  ASSERT_TRUE(fs->result.has_value());
  EXPECT_EQ(ls->result->error, kCoordinatorNotAvailable);
  EXPECT_EQ(fs->result->error, kCoordinatorNotAvailable);
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  EXPECT_EQ(coordinator_->Heartbeat("g", 1, t.leader), kRebalanceInProgress);
}

TEST_F(DurableSyncTest, AMemberLeavingWhilePersistingStartsARebalanceAndTheLateWriteIsIgnored) {
  TwoMembers t = Completing();
  auto ls = Sync(t.leader, 1, {{t.leader, "L"}, {t.follower, "F"}});
  int16_t group_error = -1;
  EXPECT_EQ(coordinator_->Leave("g", {t.follower}, &group_error), std::vector<int16_t>{kNone});
  ASSERT_TRUE(ls->result.has_value());
  EXPECT_EQ(ls->result->error, kRebalanceInProgress);
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  store_.Complete();  // generation 1's record lands after the group moved on
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  // The leader rejoins alone; generation 2's sync works as usual.
  store_.auto_complete = true;
  auto rj = Join(Args(t.leader));
  ASSERT_TRUE(rj->result.has_value());
  EXPECT_EQ(rj->result->generation, 2);
  auto s2 = Sync(t.leader, 2, {{t.leader, "L2"}});
  ASSERT_TRUE(s2->result.has_value());
  EXPECT_EQ(s2->result->error, kNone);
  EXPECT_EQ(s2->result->assignment, "L2");
  EXPECT_EQ(State(), GroupState::kStable);
}

TEST_F(DurableSyncTest, CompletionOnAnotherThreadAnswersTheMembers) {
  TwoMembers t = Completing();
  auto fs = Sync(t.follower, 1);
  auto ls = Sync(t.leader, 1, {{t.leader, "L"}, {t.follower, "F"}});
  std::thread applier([this] { store_.Complete(); });  // as GroupLog's applier thread does
  applier.join();
  ASSERT_TRUE(ls->result.has_value());
  ASSERT_TRUE(fs->result.has_value());
  EXPECT_EQ(fs->result->assignment, "F");
  EXPECT_EQ(State(), GroupState::kStable);
}

TEST_F(CoordinatorTest, HeartbeatErrorTable) {
  EXPECT_EQ(coordinator_->Heartbeat("g", 1, "x"), kUnknownMemberId);  // no such group
  auto j = Join(Args(""));
  const std::string a = j->result->member_id;
  EXPECT_EQ(coordinator_->Heartbeat("g", 1, a), kNone);  // CompletingRebalance
  EXPECT_EQ(coordinator_->Heartbeat("g", 2, a), kIllegalGeneration);
  EXPECT_EQ(coordinator_->Heartbeat("g", 1, "client-x"), kUnknownMemberId);
  Sync(a, 1, {{a, "x"}});
  EXPECT_EQ(coordinator_->Heartbeat("g", 1, a), kNone);  // Stable
  int16_t group_error;
  EXPECT_EQ(coordinator_->Leave("g", {a}, &group_error), std::vector<int16_t>{kNone});
  EXPECT_EQ(State(), GroupState::kEmpty);
  EXPECT_EQ(coordinator_->Heartbeat("g", 2, a), kUnknownMemberId);  // Empty
  EXPECT_EQ(coordinator_->Heartbeat("", 2, a), kInvalidGroupId);
}

TEST_F(CoordinatorTest, LeaveRebalancesAndReportsUnknownMembersOneByOne) {
  Make(/*delay_ms=*/100);
  auto a = Join(Args(""));
  auto b = Join(Args(""));
  timers_.Advance(300);
  const std::string ida = a->result->member_id, idb = b->result->member_id;
  Sync(a->result->leader, 1, {});
  int16_t group_error;
  EXPECT_EQ(coordinator_->Leave("g", {ida, "client-nope"}, &group_error),
            (std::vector<int16_t>{kNone, kUnknownMemberId}));
  EXPECT_EQ(group_error, kNone);
  EXPECT_EQ(State(), GroupState::kPreparingRebalance);
  auto rb = Join(Args(idb));
  ASSERT_TRUE(rb->result.has_value());
  EXPECT_EQ(rb->result->leader, idb);  // the old leader left (or b led already)
  coordinator_->Leave("unknown-group", {idb}, &group_error);
  EXPECT_EQ(group_error, kUnknownMemberId);
}

TEST_F(CoordinatorTest, CommitValidation) {
  CommitPartition p{.topic = "t", .partition = 0, .offset = 5};
  // assign()-style on an unknown or Empty group: accepted.
  EXPECT_EQ(Commit(-1, "", {p}), std::vector<int16_t>{kNone});
  const std::string a = StableSingle();
  EXPECT_EQ(Commit(-1, "", {p}), std::vector<int16_t>{kUnknownMemberId});
  EXPECT_EQ(Commit(1, "client-x", {p}), std::vector<int16_t>{kUnknownMemberId});
  EXPECT_EQ(Commit(2, a, {p}), std::vector<int16_t>{kIllegalGeneration});
  CommitPartition big = p;
  big.metadata = std::string(11, 'm');
  CommitPartition unknown{.topic = "nope", .partition = 0, .offset = 1};
  CommitPartition beyond{.topic = "t", .partition = 6, .offset = 1};
  p.offset = 9;
  p.metadata = "meta";
  EXPECT_EQ(Commit(1, a, {p, big, unknown, beyond}),
            (std::vector<int16_t>{kNone, kOffsetMetadataTooLarge, kUnknownTopicOrPartition,
                                  kUnknownTopicOrPartition}));
  auto f = coordinator_->FetchOffsets("g", {{{"t", {0, 1}}}});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].offset, 9);
  EXPECT_EQ(f[0].metadata, "meta");
  EXPECT_EQ(f[1].offset, -1);
  EXPECT_EQ(f[1].metadata, "");
  // CompletingRebalance: 27; PreparingRebalance with the current generation: accepted.
  auto b = Join(Args(""));
  EXPECT_EQ(Commit(1, a, {p}), std::vector<int16_t>{kNone});
  Join(Args(a));
  EXPECT_EQ(State(), GroupState::kCompletingRebalance);
  EXPECT_EQ(Commit(2, a, {p}), std::vector<int16_t>{kRebalanceInProgress});
}

TEST_F(CoordinatorTest, CommitIsAnsweredOnlyOnceDurable) {
  store_.auto_complete = false;
  bool answered = false;
  coordinator_->Commit("g", -1, "", {{.topic = "t", .partition = 1, .offset = 3}},
                       [&](std::vector<int16_t> e) {
                         answered = true;
                         EXPECT_EQ(e, std::vector<int16_t>{kNone});
                       });
  EXPECT_FALSE(answered);
  EXPECT_EQ(coordinator_->FetchOffsets("g", std::nullopt).size(), 0u);
  store_.Complete();
  EXPECT_TRUE(answered);
  auto all = coordinator_->FetchOffsets("g", std::nullopt);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].offset, 3);
}

TEST_F(CoordinatorTest, FailedStoreFailsTheCommit) {
  store_.fail_with = absl::InternalError("disk");
  EXPECT_EQ(Commit(-1, "", {{.topic = "t", .partition = 0, .offset = 1}}),
            std::vector<int16_t>{kUnknownServerError});
  EXPECT_TRUE(coordinator_->FetchOffsets("g", std::nullopt).empty());
}

TEST_F(CoordinatorTest, RestartKeepsOffsetsGenerationAndMembers) {
  const std::string a = StableSingle();
  Commit(1, a, {{.topic = "t", .partition = 2, .offset = 42}});
  LoadedGroups loaded;
  for (const CoordinatorRecord& r : store_.appended()) {
    if (const auto* o = std::get_if<OffsetRecord>(&r)) {
      loaded.offsets[o->key] = *o->value;
    } else {
      const auto& g = std::get<GroupRecord>(r);
      loaded.groups[g.group] = *g.value;
    }
  }
  Make(0, loaded);
  EXPECT_EQ(State(), GroupState::kStable);
  EXPECT_EQ(coordinator_->Heartbeat("g", 1, a), kNone);
  EXPECT_EQ(coordinator_->FetchOffsets("g", {{{"t", {2}}}})[0].offset, 42);
  // A restored member that never comes back expires like any other.
  timers_.Advance(kSession + 1);
  EXPECT_EQ(State(), GroupState::kEmpty);
}

TEST_F(CoordinatorTest, DeletedTopicLosesItsOffsets) {
  Commit(-1, "", {{.topic = "t", .partition = 0, .offset = 1}});
  coordinator_->OnTopicDeleted("t");
  EXPECT_TRUE(coordinator_->FetchOffsets("g", std::nullopt).empty());
  const auto records = store_.appended();
  const auto* tomb = std::get_if<OffsetRecord>(&records.back());
  ASSERT_NE(tomb, nullptr);
  EXPECT_FALSE(tomb->value.has_value());
}

TEST_F(CoordinatorTest, ExpiresOnlyEmptyGroupsPastTheRetention) {
  Commit(-1, "", {{.topic = "t", .partition = 0, .offset = 1}});
  coordinator_->Commit("other", -1, "", {{.topic = "t", .partition = 0, .offset = 1}},
                       [](std::vector<int16_t>) {});
  JoinArgs active = Args("");
  active.group_id = "active";
  Join(active);
  timers_.Advance(30000);
  Commit(-1, "", {{.topic = "t", .partition = 0, .offset = 2}});  // g stays fresh
  timers_.Advance(30001);
  EXPECT_EQ(coordinator_->ExpireGroups(), 1);  // "other"
  std::vector<std::string> ids;
  for (const auto& g : coordinator_->ListGroups()) ids.push_back(g.group_id);
  // "active" became Empty when its member's session expired, too recently to go.
  EXPECT_EQ(ids, (std::vector<std::string>{"active", "g"}));
  EXPECT_EQ(coordinator_->Describe("other").state, GroupState::kDead);
}

TEST_F(CoordinatorTest, DescribeAndList) {
  const std::string a = StableSingle();
  DescribedGroup d = coordinator_->Describe("g");
  EXPECT_EQ(d.state, GroupState::kStable);
  EXPECT_EQ(d.protocol_type, "consumer");
  EXPECT_EQ(d.protocol, "range");
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(d.members[0].member_id, a);
  EXPECT_EQ(d.members[0].assignment, "a");
  auto groups = coordinator_->ListGroups();
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].protocol_type, "consumer");
  EXPECT_STREQ(GroupStateName(groups[0].state), "Stable");
}

TEST_F(CoordinatorTest, NotStartedAnswersLoadInProgress) {
  CoordinatorOptions o;
  o.now_ms = [] { return 0; };
  GroupCoordinator c(o, &store_, {});
  EXPECT_FALSE(c.ready());
  EXPECT_EQ(c.Heartbeat("g", 1, "m"), kCoordinatorLoadInProgress);
}

// Members joining, heartbeating, syncing and committing from several threads while another
// thread fires the timers (run under TSan too).
TEST_F(CoordinatorTest, ConcurrentMembersAndTimers) {
  std::atomic<bool> stop{false};
  std::thread ticker([&] {
    while (!stop) {
      timers_.Advance(50);
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> members;
  for (int t = 0; t < 4; ++t) {
    members.emplace_back([&, t] {
      std::string id;
      for (int i = 0; i < 200; ++i) {
        // The answer may come later from another member's thread: the holder owns its lock.
        struct Shared {
          std::mutex mu;
          std::optional<JoinResult> result;
        };
        auto shared = std::make_shared<Shared>();
        coordinator_->Join(Args(id), [shared](JoinResult r) {
          std::lock_guard lock(shared->mu);
          shared->result = r;
        });
        auto j = std::make_shared<JoinHolder>();
        {
          std::lock_guard lock(shared->mu);
          j->result = shared->result;
        }
        if (j->result && j->result->error == kNone) {
          id = j->result->member_id;
          coordinator_->Heartbeat("g", j->result->generation, id);
          coordinator_->Sync("g", j->result->generation, id, {}, [](SyncResult) {});
          coordinator_->Commit("g", j->result->generation, id,
                               {{.topic = "t", .partition = t, .offset = i}},
                               [](std::vector<int16_t>) {});
        } else if (j->result && j->result->error == kUnknownMemberId) {
          id.clear();
        }
      }
    });
  }
  for (auto& m : members) m.join();
  stop = true;
  ticker.join();
  coordinator_->Stop();
}

}  // namespace
}  // namespace varve::broker::group
