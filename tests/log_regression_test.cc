// Bugs found by log_model_test.cc, each reduced to the smallest sequence that shows it. "Fixed"
// ones guard the fix; "open" ones fail until the engine is fixed. They belong beside the code
// they test (log/log_test.cc, log/group_commit_test.cc, log/durability_test.cc) and live here
// until those files' owners take them.

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/fault_injection_fs.h"
#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/checkpoint.h"
#include "log/flusher.h"
#include "log/log.h"
#include "tests/forwarding_fs.h"

namespace varve {
namespace {

LogOptions Options() {
  LogOptions options;
  options.config.retention_ms = -1;
  options.now_ms = [] { return int64_t{1'000'000}; };
  return options;
}

// Appends one batch of `n` records with timestamps 100 + offset.
void AppendBatchOf(Log* log, int n) {
  std::vector<RecordToAppend> records;
  for (int i = 0; i < n; ++i) {
    records.push_back({.value = "v", .timestamp = 100 + log->end_offset() + i});
  }
  ASSERT_TRUE(log->Append(records).ok());
}

// Fixed. Log::Truncate documents "Truncating below start_offset() empties the log and restarts
// it at `offset`", but did so only when `offset` was below the first segment's base. Below the
// start yet inside the first segment (after DeleteRecords) it cut the segment and left the start
// above the end: every offset was OutOfRange, and the next reopen moved the start back.
TEST(LogRegressionTest, TruncateBelowTheLogStartRestartsTheLogThere) {
  TempDir dir;
  auto log = Log::Open(dir.Sub("t-0"), Options());
  ASSERT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < 10; ++i) AppendBatchOf(log->get(), 1);
  ASSERT_TRUE((*log)->DeleteRecordsBefore(5).ok());
  ASSERT_EQ((*log)->start_offset(), 5);
  ASSERT_TRUE((*log)->Truncate(3).ok());
  EXPECT_EQ((*log)->start_offset(), 3);
  EXPECT_EQ((*log)->end_offset(), 3);
}

// Fixed. The same with `offset` at or above the start but inside the batch that holds it: the
// batch went whole, the end dropped below the start, and the start stayed where it was. Now the
// log restarts empty at `offset`, as below the start.
TEST(LogRegressionTest, TruncateInsideTheBatchHoldingTheLogStartKeepsStartAtMostEnd) {
  TempDir dir;
  auto log = Log::Open(dir.Sub("t-0"), Options());
  ASSERT_TRUE(log.ok()) << log.status();
  AppendBatchOf(log->get(), 10);  // offsets 0-9
  AppendBatchOf(log->get(), 10);  // offsets 10-19
  ASSERT_TRUE((*log)->DeleteRecordsBefore(5).ok());
  ASSERT_TRUE((*log)->Truncate(7).ok());  // removes batch 0-9, which holds the start
  EXPECT_LE((*log)->start_offset(), (*log)->end_offset());
  EXPECT_LE((*log)->end_offset(), 7);
  EXPECT_TRUE((*log)->Read((*log)->start_offset(), 1 << 20).ok());
}

// Open. OffsetForTimestamp (ListOffsets by time) answers with records below the log start
// offset, which DeleteRecords removed: a consumer seeking there gets OFFSET_OUT_OF_RANGE. Kafka
// skips them and searches on (FileRecords.searchForTimestamp's startingOffset).
TEST(LogRegressionTest, OffsetForTimestampSkipsRecordsBelowTheLogStart) {
  TempDir dir;
  auto log = Log::Open(dir.Sub("t-0"), Options());
  ASSERT_TRUE(log.ok()) << log.status();
  AppendBatchOf(log->get(), 10);  // offsets 0-9, timestamps 100-109
  ASSERT_TRUE((*log)->DeleteRecordsBefore(5).ok());
  auto found = (*log)->OffsetForTimestamp(0);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->offset, 5);
  EXPECT_EQ((*found)->timestamp, 105);
}

// Holds the first Sync() after Arm() until Release(): an fdatasync in flight at a chosen moment.
class SyncGate {
 public:
  void Arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }
  // Waits until a Sync is held.
  void WaitHeld() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    armed_ = false;
    cv_.notify_all();
  }
  // The ForwardingFs hook.
  bool BeforeSync() {
    std::unique_lock lock(mu_);
    if (armed_ && !held_) {
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !armed_; });
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool held_ = false;  // one Sync is held per test
};

// Fixed. A Truncate that lands while a group commit's fdatasync is in flight lowers
// GroupCommit's written and durable offsets (ResetTo). The leader then completed with its old
// target and raised the durable offset above the log end (later appends below it were
// acknowledged with no fdatasync), and an appender whose batch the Truncate removed waited for
// an offset no write would reach again: WaitDurable led empty syncs forever. The same loop in
// SyncAll spun the process-wide Flusher thread, which log_model_test hit without threads.
TEST(LogRegressionTest, GroupCommitAppendReturnsWhenTruncateOvertakesItsSync) {
  TempDir dir;
  SyncGate gate;
  ForwardingFs fs(PosixFileSystem(), [&gate](const std::string&) { return gate.BeforeSync(); });
  LogOptions options = Options();
  options.fs = &fs;
  options.io_backend = IoBackendKind::kPwritev;
  options.config.durability = DurabilityMode::kGroupCommit;
  auto opened = Log::Open(dir.Sub("t-0"), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Log> log = std::move(*opened);
  for (int i = 0; i < 10; ++i) AppendBatchOf(log.get(), 1);

  gate.Arm();
  // The leader: its linked fdatasync blocks.
  std::future<void> leader = std::async(std::launch::async, [&] { AppendBatchOf(log.get(), 1); });
  gate.WaitHeld();
  // A follower: written (offset 11), waiting for the leader's sync or the next. Detached, so
  // that a follower stuck in the bug does not hang the test too.
  auto follower = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> followed = follower->get_future();
  std::thread([follower, log = log.get()] {
    RecordToAppend r[] = {{.value = "f", .timestamp = 111}};
    follower->set_value(log->Append(r).status());
  }).detach();
  while (log->end_offset() < 12) std::this_thread::yield();
  ASSERT_TRUE(log->Truncate(5).ok());
  gate.Release();
  leader.wait();
  // A safety net only: the follower returns at once when this works.
  if (followed.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "Append never returned after Truncate overtook its group commit";
    log.release();  // the follower still uses it, spinning; the process ends with the test
    return;
  }
  EXPECT_TRUE(followed.get().ok());
  EXPECT_EQ(log->end_offset(), 5);
  EXPECT_LE(log->durable_offset(), log->end_offset());
}

// Holds the process-wide Flusher thread until destroyed: background work queued meanwhile has
// not run, as after a power cut that came first.
class FlusherHold {
 public:
  FlusherHold() {
    Flusher::Global().Run([released = released_] { released.wait(); });
  }
  ~FlusherHold() { release_.set_value(); }

 private:
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
};

// A power cut: the log dies with the disk stopped, then everything not synced is lost: file
// data, and directory entries (creations, renames) that no directory sync covered.
absl::StatusOr<std::unique_ptr<Log>> PowerCutAndReopen(FaultInjectionFs* fs,
                                                       std::unique_ptr<Log> log,
                                                       const LogOptions& options) {
  const std::string dir = log->dir();
  fs->SetFilesystemActive(false);
  log.reset();
  Flusher::Global().WaitUntilIdle();
  if (absl::Status s = fs->DropUnsyncedData(); !s.ok()) return s;
  if (absl::Status s = fs->DropUnsyncedDirectoryEntries(); !s.ok()) return s;
  fs->SetFilesystemActive(true);
  return Log::Open(dir, options);
}

LogOptions GroupCommitOptions(FileSystem* fs) {
  LogOptions options = Options();
  options.fs = fs;
  options.io_backend = IoBackendKind::kPwritev;
  options.config.durability = DurabilityMode::kGroupCommit;
  options.config.segment_bytes = 1000;
  return options;
}

// Open. group_commit promises that a power loss loses nothing acknowledged, but Log::Open of a
// new log creates its first segment's files and syncs no directory: an append is acknowledged
// after an fdatasync of the .log alone, and a power cut takes the file's directory entry away.
TEST(LogRegressionTest, GroupCommitAppendsToANewLogSurviveAPowerLoss) {
  TempDir dir;
  FaultInjectionFs fs(PosixFileSystem());
  const LogOptions options = GroupCommitOptions(&fs);
  auto log = Log::Open(dir.Sub("t-0"), options);
  ASSERT_TRUE(log.ok()) << log.status();
  AppendBatchOf(log->get(), 1);
  log = PowerCutAndReopen(&fs, std::move(*log), options);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->end_offset(), 1);
}

// Open. The same for a roll: nothing syncs the directory after the new segment's files are
// created until the roll's background task writes the recovery-point checkpoint (Log::Roll). A
// power cut before that task runs takes every acknowledged batch of the new segment away.
TEST(LogRegressionTest, GroupCommitAppendsAfterARollSurviveAPowerLoss) {
  TempDir dir;
  FaultInjectionFs fs(PosixFileSystem());
  const LogOptions options = GroupCommitOptions(&fs);
  auto log = Log::Open(dir.Sub("t-0"), options);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)->Close().ok());  // syncs the directory: the first segment is durable
  log = Log::Open(dir.Sub("t-0"), options);
  ASSERT_TRUE(log.ok()) << log.status();
  int64_t acked = 0;
  {
    FlusherHold hold;  // the roll's background work has not run when the power goes
    bool rolled = false;
    const std::string value(100, 'x');
    for (int i = 0; i < 100 && !rolled; ++i) {
      RecordToAppend r[] = {{.value = value, .timestamp = 100 + i}};
      absl::StatusOr<AppendInfo> info = (*log)->Append(r);
      ASSERT_TRUE(info.ok()) << info.status();
      rolled = info->roll != RollReason::kNone;
      acked = info->last_offset + 1;
    }
    ASSERT_TRUE(rolled);
    fs.SetFilesystemActive(false);
  }
  log = PowerCutAndReopen(&fs, std::move(*log), options);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->end_offset(), acked);
}

// Open. A roll queues a background task that syncs and then advances the recovery-point
// checkpoint to the new segment's base (Log::Roll). If a Truncate removes that segment before
// the task runs, the task still writes the removed base, even after Close wrote the final
// recovery point: the checkpoint then lies above the log end (a later crash recovery trusts
// segments below it unscanned), and the late write races the next Open, whose cleanup of the
// checkpoint's .tmp file then fails with NotFound.
TEST(LogRegressionTest, RecoveryPointStaysAtMostTheEndAfterTruncateRemovesARoll) {
  TempDir dir;
  LogOptions options = Options();
  options.config.segment_bytes = 1000;
  auto log = Log::Open(dir.Sub("t-0"), options);
  ASSERT_TRUE(log.ok()) << log.status();
  {
    FlusherHold hold;  // the roll's task is queued, not run
    const std::string value(100, 'x');
    for (int i = 0; i < 100 && (*log)->SegmentBaseOffsets().size() < 2; ++i) {
      RecordToAppend r[] = {{.value = value, .timestamp = 100 + i}};
      ASSERT_TRUE((*log)->Append(r).ok());
    }
    ASSERT_EQ((*log)->SegmentBaseOffsets().size(), 2u);
    ASSERT_TRUE((*log)->Truncate(1).ok());  // removes the new segment
    ASSERT_TRUE((*log)->Close().ok());
  }
  Flusher::Global().WaitUntilIdle();
  OffsetCheckpoint checkpoint(PosixFileSystem(), dir.Sub("t-0/recovery-point-offset-checkpoint"));
  absl::StatusOr<std::optional<int64_t>> recovery_point = checkpoint.Read();
  ASSERT_TRUE(recovery_point.ok()) << recovery_point.status();
  EXPECT_EQ(recovery_point->value_or(-1), 1);
}

}  // namespace
}  // namespace varve
