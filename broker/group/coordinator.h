#pragma once

// GroupCoordinator: Kafka's classic consumer-group protocol (reference §4.4) for every group
// of this broker, plus their committed offsets. A plain class: no sockets, time and timers are
// injected, state goes to a GroupStore, answers go to callbacks. The handlers in
// broker/handlers/group_*.cc translate requests to these calls.
//
// Group states (Kafka's names): Empty -> PreparingRebalance -> CompletingRebalance -> Stable,
// and Dead for a group being removed.
//   * A new member, a member leaving or expiring (no heartbeat, join or sync within its session
//     timeout), a leader rejoining or a member's protocols changing starts a rebalance
//     (PreparingRebalance). It completes when every known member has rejoined, or when the
//     largest rebalance timeout of the members runs out, removing those that did not rejoin.
//     A group that was Empty first waits group.initial.rebalance.delay.ms, extended by each
//     new member up to the rebalance timeout.
//   * Completing increments the generation, selects the protocol (among those every member
//     supports, the one most members prefer) and the leader (the old one if it rejoined), and
//     answers every pending JoinGroup; only the leader gets the members and their metadata.
//     The group is then CompletingRebalance until the leader's SyncGroup brings the
//     assignments: then every SyncGroup is answered and the group is Stable (and its metadata
//     persisted; also when it becomes Empty).
//   * Offsets: a commit is validated (member and generation; generation < 0 on an Empty group
//     for assign()-style consumers), appended through the GroupStore and answered once durable.
//
// Static membership (group.instance.id, JoinGroup v5) is not supported: such joins are
// rejected with INVALID_REQUEST rather than silently treated as dynamic members.
//
// Thread-safe: one mutex guards every group; callbacks run without it held, on the calling
// thread (immediate answers), the timer thread (completed rebalances) or the store's thread
// (commits). Timer callbacks must not outlive the coordinator: stop the timers first.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/group/group_store.h"
#include "broker/group/records.h"

namespace varve::broker::group {

// Runs callbacks after a delay on a timer thread. Cancel is best effort.
class GroupTimers {
 public:
  virtual ~GroupTimers() = default;
  virtual uint64_t Schedule(int64_t delay_ms, std::function<void()> fn) = 0;
  virtual bool Cancel(uint64_t id) = 0;
};

struct CoordinatorOptions {
  int64_t initial_rebalance_delay_ms = 3000;
  int64_t min_session_timeout_ms = 6000;
  int64_t max_session_timeout_ms = 1800000;
  int32_t offset_metadata_max_bytes = 4096;
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;
  std::function<int64_t()> now_ms;                                    // wall clock, ms
  std::function<bool(const std::string&, int32_t)> partition_exists;  // for OffsetCommit
};

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };
const char* GroupStateName(GroupState state);

using Protocols = std::vector<std::pair<std::string, std::string>>;  // name, metadata

struct JoinArgs {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  Protocols protocols;
  bool require_known_member_id = false;  // JoinGroup v4+: MEMBER_ID_REQUIRED for new members
};

struct JoinResult {
  int16_t error = 0;
  int32_t generation = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  Protocols members;  // leader only: member id, metadata for the selected protocol
};

struct SyncResult {
  int16_t error = 0;
  std::string assignment;
};

struct CommitPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};

struct FetchedOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
};

struct ListedGroup {
  std::string group_id;
  std::string protocol_type;
  GroupState state = GroupState::kEmpty;
};

struct DescribedMember {
  std::string member_id, client_id, client_host, metadata, assignment;
};
struct DescribedGroup {
  GroupState state = GroupState::kDead;
  std::string protocol_type, protocol;
  std::vector<DescribedMember> members;
};

class GroupCoordinator {
 public:
  // `loaded` is what the store held; groups with members come back Stable (their members keep
  // working if they heartbeat within their session timeout after Start).
  GroupCoordinator(CoordinatorOptions options, GroupStore* store, LoadedGroups loaded);
  ~GroupCoordinator();

  // Starts the timers (session expiry of restored members). Requests before Start are answered
  // COORDINATOR_LOAD_IN_PROGRESS by the handlers (ready() is false).
  void Start(GroupTimers* timers);
  bool ready() const;
  // Cancels every timer; later calls answer COORDINATOR_NOT_AVAILABLE.
  void Stop();

  void Join(JoinArgs args, std::function<void(JoinResult)> done);
  void Sync(const std::string& group_id, int32_t generation, const std::string& member_id,
            Protocols assignments, std::function<void(SyncResult)> done);
  int16_t Heartbeat(const std::string& group_id, int32_t generation, const std::string& member_id);
  // One error per member id (in order); the group-level error is returned in *group_error.
  std::vector<int16_t> Leave(const std::string& group_id, const std::vector<std::string>& members,
                             int16_t* group_error);

  // One error per partition, in order, once the valid ones are durable.
  void Commit(const std::string& group_id, int32_t generation, const std::string& member_id,
              std::vector<CommitPartition> partitions,
              std::function<void(std::vector<int16_t>)> done);
  // Committed offsets of `wanted` (topic -> partitions), or of every partition with a commit
  // when nullopt. Partitions without a commit get offset -1 and empty metadata.
  std::vector<FetchedOffset> FetchOffsets(
      const std::string& group_id,
      const std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>& wanted);

  std::vector<ListedGroup> ListGroups();
  // Unknown groups come back Dead with no members (Kafka's answer).
  DescribedGroup Describe(const std::string& group_id);

  // Removes the committed offsets of a deleted topic (tombstones in the log).
  void OnTopicDeleted(const std::string& topic);
  // Removes Empty groups whose last commit and last change are older than
  // offsets.retention.ms. Returns how many were removed.
  int ExpireGroups();

 private:
  struct Member;
  struct Group;
  using Actions = std::vector<std::function<void()>>;

  Group* FindGroup(const std::string& id);
  Group& GetOrCreateGroup(const std::string& id);
  std::string NewMemberId(const std::string& client_id);
  int64_t Now() const { return options_.now_ms(); }
  // Schedules `fn(token)` on the timers; the token identifies it for CancelTimer.
  uint64_t Schedule(int64_t delay_ms, std::function<void(uint64_t)> fn);
  void CancelTimer(uint64_t id);

  // State machine steps; answers go into *actions, run after the lock is released.
  void AddMember(Group& g, const JoinArgs& args, std::string member_id,
                 std::function<void(JoinResult)> done, Actions* actions);
  void UpdateMemberAndRebalance(Group& g, Member& m, const JoinArgs& args,
                                std::function<void(JoinResult)> done, Actions* actions);
  void PrepareRebalance(Group& g, Actions* actions);
  void MaybeCompleteJoin(Group& g, Actions* actions);
  void CompleteJoin(Group& g, Actions* actions);
  void RemoveMember(Group& g, const std::string& member_id, Actions* actions);
  void ScheduleSession(Group& g, Member& m, int64_t delay_ms);
  void OnSessionTimer(const std::string& group_id, const std::string& member_id, uint64_t token);
  void OnPendingMemberTimer(const std::string& group_id, const std::string& member_id);
  void OnRebalanceTimer(const std::string& group_id, uint64_t token);
  void ScheduleRebalanceTimer(Group& g, int64_t delay_ms);
  JoinResult CurrentJoinResult(const Group& g, const std::string& member_id) const;
  std::optional<std::string> SelectProtocol(const Group& g) const;
  bool SupportsProtocols(const Group& g, const std::string& type, const Protocols& protocols,
                         const Member* ignoring) const;
  // Appends the group's metadata record (its members only when Stable, or with `assignments`
  // when given). `on_done`, when set, runs under the lock once the append completed (durable
  // and applied), with the actions of that moment; it also runs correctly when a store
  // completes inside Append, which happens here with mu_ held.
  void PersistGroup(Group& g, const std::map<std::string, std::string>* assignments = nullptr,
                    std::function<void(absl::Status, Actions*)> on_done = nullptr,
                    Actions* actions = nullptr);
  // The leader's assignment of `generation` reached the log (or failed to).
  void OnAssignmentPersisted(const std::string& group_id, int32_t generation, absl::Status status,
                             Actions* actions);
  static void Run(Actions& actions);

  const CoordinatorOptions options_;
  GroupStore* const store_;
  mutable std::mutex mu_;
  GroupTimers* timers_ = nullptr;  // guarded by mu_
  bool started_ = false;
  bool stopped_ = false;
  uint64_t next_token_ = 0;
  std::map<uint64_t, uint64_t> live_timers_;  // token -> timer id, until it fires
  std::map<std::string, std::unique_ptr<Group>> groups_;
  std::mt19937_64 random_;
};

}  // namespace varve::broker::group
