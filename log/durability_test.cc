// The durability promises of Log: what each mode acknowledges, what a clean or unclean reopen
// reads and finds, and what the caller sees when the disk misbehaves (through the
// fault-injecting file system).

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/fault_injection_fs.h"
#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/flusher.h"
#include "log/log.h"

namespace varve {
namespace {

std::string ValueFor(int64_t offset) { return "value-" + std::to_string(offset); }

class DurabilityTest : public ::testing::Test {
 protected:
  LogOptions Options(FileSystem* fs = nullptr) {
    LogOptions options;
    options.config = config_;
    options.fs = fs != nullptr ? fs : &fs_;
    options.io_backend = IoBackendKind::kPwritev;
    options.recovery_mode = recovery_mode_;
    return options;
  }
  std::unique_ptr<Log> OpenLog(FileSystem* fs = nullptr) {
    auto log = Log::Open(dir_.Sub("t-0"), Options(fs));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  absl::StatusOr<AppendInfo> AppendOne(Log* log) {
    const std::string value = ValueFor(log->end_offset());
    RecordToAppend r[] = {{.key = "k", .value = value, .timestamp = 1000 + log->end_offset()}};
    return log->Append(r);
  }
  void AppendMany(Log* log, int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(AppendOne(log).ok());
  }
  // Checks the log holds exactly offsets [0, n) with their values.
  void ExpectContents(Log* log, int64_t n) {
    LogReader reader = log->NewReader(log->start_offset());
    RecordView r;
    int64_t expected = log->start_offset();
    while (reader.NextRecord(&r)) {
      ASSERT_EQ(r.offset, expected);
      ASSERT_EQ(*r.value, ValueFor(r.offset));
      ++expected;
    }
    ASSERT_TRUE(reader.status().ok()) << reader.status();
    EXPECT_EQ(expected, n);
  }
  // A crash: the process dies without closing; nothing more reaches the files.
  void Crash(std::unique_ptr<Log>* log) {
    Flusher::Global().WaitUntilIdle();
    fs_.SetFilesystemActive(false);
    log->reset();
    Flusher::Global().WaitUntilIdle();
    fs_.SetFilesystemActive(true);
  }
  // A power loss: a crash, and whatever was not synced is gone too.
  void PowerLoss(std::unique_ptr<Log>* log) {
    Flusher::Global().WaitUntilIdle();
    fs_.SetFilesystemActive(false);
    log->reset();
    Flusher::Global().WaitUntilIdle();
    ASSERT_TRUE(fs_.DropUnsyncedData().ok());
    ASSERT_TRUE(fs_.DropUnsyncedDirectoryEntries().ok());
    fs_.SetFilesystemActive(true);
  }

  TempDir dir_;
  FaultInjectionFs fs_{PosixFileSystem()};
  LogConfig config_;
  RecoveryMode recovery_mode_ = RecoveryMode::kTruncateTornTail;
};

class BackendTest : public DurabilityTest, public ::testing::WithParamInterface<IoBackendKind> {};

TEST_P(BackendTest, GroupCommitAppendsReadBackAndSurviveAReopen) {
  config_.durability = DurabilityMode::kGroupCommit;
  config_.segment_bytes = 4096;
  LogOptions options = Options(PosixFileSystem());
  options.io_backend = GetParam();
  auto log = Log::Open(dir_.Sub("t-0"), options);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->io_backend(), GetParam());
  AppendMany(log->get(), 200);
  EXPECT_EQ((*log)->durable_offset(), 200);
  ExpectContents(log->get(), 200);
  ASSERT_TRUE((*log)->Close().ok());
  log = Log::Open(dir_.Sub("t-0"), options);
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE((*log)->open_info().clean_shutdown);
  ExpectContents(log->get(), 200);
}

INSTANTIATE_TEST_SUITE_P(IoUringAndPwritev, BackendTest,
                         ::testing::Values(IoBackendKind::kIoUring, IoBackendKind::kPwritev),
                         [](const auto& info) { return IoBackendKindName(info.param); });

TEST_F(DurabilityTest, PageCacheModeNeverSyncsOnTheAppender) {
  auto log = OpenLog();
  fs_.ResetStats();
  AppendMany(log.get(), 100);
  EXPECT_EQ(fs_.StatsFor(".log").syncs, 0);
  EXPECT_EQ(log->durable_offset(), 0);
  ASSERT_TRUE(log->Flush().ok());
  EXPECT_EQ(log->durable_offset(), 100);
}

TEST_F(DurabilityTest, GroupCommitAcknowledgesOnlyWhatASyncCovered) {
  config_.durability = DurabilityMode::kGroupCommit;
  auto log = OpenLog();
  fs_.ResetStats();
  AppendMany(log.get(), 10);
  // One append at a time: each needs its own fdatasync.
  EXPECT_EQ(fs_.StatsFor(".log").syncs, 10);
  EXPECT_EQ(log->durable_offset(), 10);
}

TEST_F(DurabilityTest, ConcurrentGroupCommitAppendersAllGetDurableAcks) {
  config_.durability = DurabilityMode::kGroupCommit;
  config_.segment_bytes = 64 * 1024;
  auto log = OpenLog();
  constexpr int kThreads = 8, kPerThread = 60;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        RecordToAppend r[] = {{.value = "x"}};
        auto info = log->Append(r);
        if (!info.ok() || log->durable_offset() <= info->last_offset) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->end_offset(), kThreads * kPerThread);
  EXPECT_EQ(log->durable_offset(), kThreads * kPerThread);
  EXPECT_LE(fs_.StatsFor(".log").syncs, kThreads * kPerThread + 16);
}

TEST_F(DurabilityTest, AppendAsyncCallsBackOnceDurableInOrder) {
  config_.durability = DurabilityMode::kGroupCommit;
  auto log = OpenLog();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int64_t> acked;
  bool durable_when_acked = true;
  constexpr int kAppends = 200;
  for (int i = 0; i < kAppends; ++i) {
    RecordToAppend r[] = {{.value = "async"}};
    log->AppendAsync(r, [&](absl::StatusOr<AppendInfo> info) {
      std::lock_guard lock(mu);
      ASSERT_TRUE(info.ok()) << info.status();
      durable_when_acked &= log->durable_offset() > info->last_offset;
      acked.push_back(info->base_offset);
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(
      cv.wait_for(lock, std::chrono::seconds(120), [&] { return acked.size() == kAppends; }));
  EXPECT_TRUE(durable_when_acked);
  for (int i = 0; i < kAppends; ++i) EXPECT_EQ(acked[i], i);
}

TEST_F(DurabilityTest, IntervalModeFlushesInTheBackground) {
  config_.durability = DurabilityMode::kInterval;
  config_.flush_interval_bytes = 1 << 30;
  config_.flush_interval_ms = 20;
  auto log = OpenLog();
  AppendMany(log.get(), 5);  // acknowledged at once
  for (int i = 0; i < 6000 && log->durable_offset() < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(log->durable_offset(), 5);
}

TEST_F(DurabilityTest, IntervalModeFlushesAfterEnoughBytes) {
  config_.durability = DurabilityMode::kInterval;
  config_.flush_interval_bytes = 500;
  config_.flush_interval_ms = 1'000'000'000;  // never by time in this test
  auto log = OpenLog();
  AppendMany(log.get(), 20);  // about 1,600 bytes
  for (int i = 0; i < 6000 && log->durable_offset() < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(log->durable_offset(), 10);
}

TEST_F(DurabilityTest, CleanShutdownReopenReadsNoSegmentData) {
  config_.segment_bytes = 2000;
  config_.index_interval_bytes = 200;
  {
    auto log = OpenLog();
    AppendMany(log.get(), 1000);
    ASSERT_GT(log->SegmentBaseOffsets().size(), 30u);
    ASSERT_TRUE(log->Close().ok());
  }
  Flusher::Global().WaitUntilIdle();
  fs_.ResetStats();
  auto log = OpenLog();
  EXPECT_TRUE(log->open_info().clean_shutdown) << log->open_info().notes;
  EXPECT_EQ(log->open_info().segments_scanned, 0);
  EXPECT_EQ(fs_.StatsFor(".log").read_bytes, 0);
  EXPECT_EQ(fs_.StatsFor(".log").reads, 0);
  EXPECT_EQ(log->end_offset(), 1000);
  ExpectContents(log.get(), 1000);
  AppendMany(log.get(), 1);
  EXPECT_EQ(log->end_offset(), 1001);
}

TEST_F(DurabilityTest, UncleanOpenScansOnlyFromTheRecoveryPoint) {
  config_.segment_bytes = 2000;
  auto log = OpenLog();
  AppendMany(log.get(), 500);
  const std::vector<int64_t> bases = log->SegmentBaseOffsets();
  ASSERT_GT(bases.size(), 10u);
  Crash(&log);  // the background flushes after each roll advanced the recovery point
  fs_.ResetStats();
  log = OpenLog();
  EXPECT_FALSE(log->open_info().clean_shutdown);
  EXPECT_EQ(log->open_info().recovery_point, bases.back());
  EXPECT_EQ(log->open_info().segments_scanned, 1);
  // Only the active segment's data was read.
  const std::string active = SegmentFileStem(bases.back()) + ".log";
  EXPECT_EQ(fs_.StatsFor(".log").read_bytes, fs_.StatsFor(active).read_bytes);
  EXPECT_GT(fs_.StatsFor(active).read_bytes, 0);
  ExpectContents(log.get(), 500);
}

TEST_F(DurabilityTest, ProcessCrashLosesNothingWrittenInPageCacheMode) {
  auto log = OpenLog();
  AppendMany(log.get(), 300);
  Crash(&log);
  log = OpenLog();
  EXPECT_EQ(log->end_offset(), 300);
  ExpectContents(log.get(), 300);
}

TEST_F(DurabilityTest, PowerLossLosesNothingAcknowledgedInGroupCommitMode) {
  config_.durability = DurabilityMode::kGroupCommit;
  config_.segment_bytes = 3000;
  auto log = OpenLog();
  AppendMany(log.get(), 300);
  PowerLoss(&log);
  log = OpenLog();
  EXPECT_EQ(log->end_offset(), 300);
  ExpectContents(log.get(), 300);
}

TEST_F(DurabilityTest, PowerLossInPageCacheModeKeepsADensePrefix) {
  config_.segment_bytes = 3000;
  auto log = OpenLog();
  AppendMany(log.get(), 100);
  ASSERT_TRUE(log->Flush().ok());
  AppendMany(log.get(), 100);  // not synced: may vanish
  PowerLoss(&log);
  log = OpenLog();
  EXPECT_GE(log->end_offset(), 100);
  ExpectContents(log.get(), log->end_offset());
}

TEST_F(DurabilityTest, CorruptionInTheMiddleIsDataLossUnlessTruncatingIsChosen) {
  config_.segment_bytes = 2000;
  auto log = OpenLog();
  AppendMany(log.get(), 150);
  const std::vector<int64_t> bases = log->SegmentBaseOffsets();
  ASSERT_GE(bases.size(), 5u);
  Crash(&log);
  // Without a recovery point every segment is scanned; damage the third one.
  ASSERT_TRUE(fs_.Remove(dir_.Sub("t-0/recovery-point-offset-checkpoint")).ok());
  const std::string victim = dir_.Sub("t-0/" + SegmentFileStem(bases[2]) + ".log");
  {
    auto f = PosixFileSystem()->Open(victim, OpenMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    char byte;
    ASSERT_TRUE((*f)->ReadExact(200, absl::MakeSpan(&byte, 1)).ok());
    byte ^= 0x5a;  // a flipped bit pattern, whatever the field
    ASSERT_TRUE((*f)->Write(200, absl::string_view(&byte, 1)).ok());
  }
  auto refused = Log::Open(dir_.Sub("t-0"), Options());
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kDataLoss)
      << refused.status() << " " << (refused.ok() ? (*refused)->open_info().notes : "")
      << " scanned " << (refused.ok() ? (*refused)->open_info().segments_scanned : -1) << " clean "
      << (refused.ok() ? (*refused)->open_info().clean_shutdown : false);
  EXPECT_NE(refused.status().message().find(victim), std::string::npos) << refused.status();
  EXPECT_NE(refused.status().message().find("at byte"), std::string::npos);
  // Nothing was cut by the refused open.
  EXPECT_TRUE(
      PosixFileSystem()->Exists(dir_.Sub("t-0/" + SegmentFileStem(bases[4]) + ".log")).value());

  recovery_mode_ = RecoveryMode::kTruncateAtFirstCorruption;
  log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->open_info().segments_deleted, static_cast<int>(bases.size()) - 3);
  EXPECT_GT(log->open_info().bytes_truncated, 0);
  EXPECT_GE(log->end_offset(), bases[2]);
  EXPECT_LT(log->end_offset(), bases[3]);
  ExpectContents(log.get(), log->end_offset());
}

TEST_F(DurabilityTest, TornWriteFailsTheAppendAndKeepsEverythingBefore) {
  auto log = OpenLog();
  AppendMany(log.get(), 10);
  fs_.AddRule({.op = FaultOp::kWrite, .path_contains = ".log", .kind = FaultKind::kTornWrite});
  auto failed = AppendOne(log.get());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal) << failed.status();
  EXPECT_EQ(log->end_offset(), 10);
  ExpectContents(log.get(), 10);
  ASSERT_TRUE(AppendOne(log.get()).ok());  // the rule fired once
  ExpectContents(log.get(), 11);
  Crash(&log);
  log = OpenLog();
  ExpectContents(log.get(), 11);
}

TEST_F(DurabilityTest, ShortWritesAreCompleted) {
  auto log = OpenLog();
  fs_.AddRule({.op = FaultOp::kWrite,
               .path_contains = ".log",
               .kind = FaultKind::kShortWrite,
               .times = -1,
               .torn_bytes = 7});
  AppendMany(log.get(), 20);
  ExpectContents(log.get(), 20);
  EXPECT_GE(fs_.InjectedFaults(), 20);
}

TEST_F(DurabilityTest, DiskFullIsResourceExhaustedAndAppendsResumeWhenSpaceReturns) {
  config_.segment_bytes = 3000;
  auto log = OpenLog();
  AppendMany(log.get(), 50);
  fs_.SetSpaceLimit(fs_.SpaceUsed() + 500);
  absl::Status full;
  int64_t acked = 50;
  for (int i = 0; i < 100 && full.ok(); ++i) {
    auto info = AppendOne(log.get());
    if (info.ok()) acked = info->last_offset + 1;
    full = info.status();
  }
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_EQ(log->end_offset(), acked);
  ExpectContents(log.get(), acked);  // reads keep working
  fs_.SetSpaceLimit(std::nullopt);
  ASSERT_TRUE(AppendOne(log.get()).ok());
  ExpectContents(log.get(), acked + 1);
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog();
  ExpectContents(log.get(), acked + 1);
}

TEST_F(DurabilityTest, DiskFullWhileRollingKeepsTheLogUsable) {
  config_.segment_bytes = 1000;
  auto log = OpenLog();
  AppendMany(log.get(), 5);
  // Creating the next segment's files fails; the append fails; nothing is lost.
  fs_.AddRule(
      {.op = FaultOp::kOpen, .path_contains = ".index", .kind = FaultKind::kEnospc, .times = -1});
  absl::Status status;
  for (int i = 0; i < 50 && status.ok(); ++i) status = AppendOne(log.get()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  const int64_t end = log->end_offset();
  ExpectContents(log.get(), end);
  fs_.ClearRules();
  ASSERT_TRUE(AppendOne(log.get()).ok());
  ExpectContents(log.get(), end + 1);
}

TEST_F(DurabilityTest, FailedFdatasyncStopsAppendsUntilReopen) {
  config_.durability = DurabilityMode::kGroupCommit;
  auto log = OpenLog();
  AppendMany(log.get(), 5);
  fs_.AddRule({.op = FaultOp::kSync, .path_contains = ".log", .kind = FaultKind::kEio});
  auto failed = AppendOne(log.get());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal) << failed.status();
  auto refused = AppendOne(log.get());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("reopen"), std::string::npos);
  ExpectContents(log.get(), 6);  // the batch was written, only its durability is unknown
  log.reset();
  log = OpenLog();
  ASSERT_TRUE(AppendOne(log.get()).ok());
  EXPECT_EQ(log->durable_offset(), log->end_offset());
}

TEST_F(DurabilityTest, EioOnWriteIsReportedAndTheLogStaysConsistent) {
  auto log = OpenLog();
  AppendMany(log.get(), 3);
  fs_.AddRule({.op = FaultOp::kWrite, .path_contains = ".log", .kind = FaultKind::kEio});
  EXPECT_EQ(AppendOne(log.get()).status().code(), absl::StatusCode::kInternal);
  ASSERT_TRUE(AppendOne(log.get()).ok());
  ExpectContents(log.get(), 4);
}

}  // namespace
}  // namespace varve
