// The open-file budget of sealed segments (log/segment_handle_cache.h) seen through the Log:
// thousands of segments read correctly while the open descriptors and mappings stay bounded,
// and slices keep their bytes readable through eviction, retention and truncation.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/flusher.h"
#include "log/log.h"
#include "log/segment_handle_cache.h"

namespace varve {
namespace {

// Descriptors open in this process.
int CountOpenFds() {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++n;
  }
  return n;
}

// Descriptors of files that were unlinked.
int CountDeletedFds() {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    if (!error && target.find(" (deleted)") != std::string::npos) ++n;
  }
  return n;
}

// Mappings of index files under `dir`.
int CountIndexMappings(const std::string& dir) {
  std::ifstream maps("/proc/self/maps");
  int n = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(dir) != std::string::npos && line.find("index") != std::string::npos) ++n;
  }
  return n;
}

std::string ValueFor(int64_t offset) { return "v" + std::to_string(offset); }

class LogHandleBudgetTest : public ::testing::Test {
 protected:
  static constexpr int64_t kBudget = 16;

  void SetUp() override {
    saved_capacity_ = SegmentHandleCache::Global().capacity();
    ASSERT_TRUE(SegmentHandleCache::Global().SetCapacity(kBudget).ok());
    config_.segment_bytes = 200;  // two one-record batches per segment
    config_.index_interval_bytes = 0;
    config_.segment_index_bytes = 4096;
    config_.retention_ms = -1;  // the timestamps are from 1970
    baseline_fds_ = CountOpenFds();
  }
  void TearDown() override {
    Flusher::Global().WaitUntilIdle();
    ASSERT_TRUE(SegmentHandleCache::Global().SetCapacity(saved_capacity_).ok());
  }

  std::unique_ptr<Log> OpenLog() {
    LogOptions options;
    options.config = config_;
    auto log = Log::Open(dir_.Sub("t-0"), options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // One single-record batch per call: value ValueFor(offset), timestamp 1000 + offset.
  void AppendRecords(Log* log, int n) {
    for (int i = 0; i < n; ++i) {
      const int64_t offset = log->end_offset();
      const std::string value = ValueFor(offset);
      RecordToAppend records[] = {{.value = value, .timestamp = 1000 + offset}};
      auto info = log->Append(records);
      ASSERT_TRUE(info.ok()) << info.status();
      if (i % 500 == 0) ExpectBounded("appending");
    }
  }

  // The first record in `result`, which must start with the batch at `offset`.
  void ExpectFirstRecord(const ReadResult& result, int64_t offset) {
    ASSERT_FALSE(result.empty());
    std::string bytes;
    ASSERT_TRUE(result.AppendTo(&bytes).ok());
    BatchIterator batches(bytes);
    BatchView batch;
    ASSERT_TRUE(batches.Next(&batch)) << batches.status();
    ASSERT_EQ(batch.header.base_offset, offset);
    RecordIterator records(batch.bytes);
    RecordView record;
    ASSERT_TRUE(records.Next(&record)) << records.status();
    EXPECT_EQ(*record.value, ValueFor(offset));
  }

  // Every record from 0 to the end through a LogReader.
  void ExpectAllRecords(Log* log) {
    LogReader reader = log->NewReader(0);
    RecordView record;
    int64_t expected = 0;
    while (reader.NextRecord(&record)) {
      ASSERT_EQ(record.offset, expected);
      ASSERT_EQ(*record.value, ValueFor(expected));
      ++expected;
    }
    ASSERT_TRUE(reader.status().ok()) << reader.status();
    EXPECT_EQ(expected, log->end_offset());
  }

  // Open handles, descriptors and index mappings are within the budget (plus the active
  // segment, a sync in flight, io_uring rings and checkpoint writes).
  void ExpectBounded(const char* when) {
    EXPECT_LE(SegmentHandleCache::Global().open(), kBudget + 2) << when;
    EXPECT_LE(CountOpenFds() - baseline_fds_, 3 * (kBudget + 2) + 3 + 8) << when;
    EXPECT_LE(CountIndexMappings(dir_.path()), 2 * (kBudget + 2) + 2) << when;
  }

  TempDir dir_;
  LogConfig config_;
  int64_t saved_capacity_ = SegmentHandleCache::kDefaultCapacity;
  int baseline_fds_ = 0;
};

TEST_F(LogHandleBudgetTest, ThousandsOfSegmentsAreReadCorrectlyWithinASmallBudget) {
  constexpr size_t kSegments = 3000;
  auto log = OpenLog();
  AppendRecords(log.get(), 2 * kSegments + 1);
  const std::vector<int64_t> bases = log->SegmentBaseOffsets();
  ASSERT_GT(bases.size(), kSegments);
  Flusher::Global().WaitUntilIdle();
  ExpectBounded("after appending");
  const SegmentHandleCache::Stats before = SegmentHandleCache::Global().stats();

  // Every segment on its own, oldest first: each read opens a handle and evicts another.
  for (size_t i = 0; i < bases.size(); ++i) {
    auto read = log->Read(bases[i], 1);
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_NO_FATAL_FAILURE(ExpectFirstRecord(*read, bases[i]));
    if (i % 250 == 0) ExpectBounded("reading segments");
  }
  ExpectBounded("after reading every segment");
  const SegmentHandleCache::Stats after = SegmentHandleCache::Global().stats();
  EXPECT_GE(after.misses - before.misses, static_cast<int64_t>(kSegments - kBudget));
  EXPECT_GE(after.evictions - before.evictions, static_cast<int64_t>(kSegments - 2 * kBudget));
  EXPECT_LE(after.open, kBudget);

  // One reader through all of them.
  ASSERT_NO_FATAL_FAILURE(ExpectAllRecords(log.get()));
  ExpectBounded("after the reader");

  // Lookup by time, through each segment's time index.
  for (int64_t offset = 0; offset < log->end_offset(); offset += 3) {
    auto found = log->OffsetForTimestamp(1000 + offset);
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_TRUE(found->has_value()) << offset;
    ASSERT_EQ((*found)->offset, offset);
    ASSERT_EQ((*found)->timestamp, 1000 + offset);
  }
  ExpectBounded("after lookups by time");

  // Closing releases every handle; a clean reopen opens only what the budget allows and reads
  // everything again.
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  Flusher::Global().WaitUntilIdle();
  EXPECT_EQ(SegmentHandleCache::Global().open(), 0);
  log = OpenLog();
  EXPECT_TRUE(log->open_info().clean_shutdown) << log->open_info().notes;
  EXPECT_EQ(log->SegmentBaseOffsets(), bases);
  ExpectBounded("after a clean reopen");
  ASSERT_NO_FATAL_FAILURE(ExpectAllRecords(log.get()));
  ExpectBounded("after reading the reopened log");
}

TEST_F(LogHandleBudgetTest, AReadSpansAtMostMaxSegmentsPerRead) {
  auto log = OpenLog();
  AppendRecords(log.get(), 200);
  auto read = log->Read(0, 1 << 20);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(static_cast<int64_t>(read->slices.size()),
            SegmentHandleCache::Global().max_segments_per_read());
  EXPECT_EQ(SegmentHandleCache::Global().max_segments_per_read(), kBudget / 4);
}

TEST_F(LogHandleBudgetTest, AHeldSliceKeepsItsSegmentOpenWhileOthersAreEvicted) {
  auto log = OpenLog();
  AppendRecords(log.get(), 120);
  Flusher::Global().WaitUntilIdle();  // the post-roll syncs, so that only this test opens files
  const std::vector<int64_t> bases = log->SegmentBaseOffsets();
  ASSERT_GT(bases.size(), 3 * static_cast<size_t>(kBudget));
  auto held = log->Read(bases[0], 1);
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_EQ(held->slices.size(), 1u);
  // Every other segment is used after it, many times over the budget.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 1; i < bases.size(); ++i) ASSERT_TRUE(log->Read(bases[i], 1).ok());
  }
  ExpectBounded("slice held");
  // The pinned handle was never closed: the same open file serves the next read of it.
  auto again = log->Read(bases[0], 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->slices[0].file.get(), held->slices[0].file.get());
  ASSERT_NO_FATAL_FAILURE(ExpectFirstRecord(*held, bases[0]));
  // What the broker's sendfile would read.
  const FileSlice& slice = held->slices[0];
  std::string via_fd(slice.size, '\0');
  ASSERT_EQ(pread(slice.fd(), via_fd.data(), via_fd.size(), slice.position),
            static_cast<ssize_t>(slice.size));
  std::string bytes;
  ASSERT_TRUE(slice.AppendTo(&bytes).ok());
  EXPECT_EQ(via_fd, bytes);
}

TEST_F(LogHandleBudgetTest, SlicesOfSegmentsDeletedByRetentionStayReadable) {
  auto log = OpenLog();
  AppendRecords(log.get(), 120);
  Flusher::Global().WaitUntilIdle();  // the post-roll syncs, so that only this test opens files
  const std::vector<int64_t> bases = log->SegmentBaseOffsets();
  auto held = log->Read(bases[0], 1 << 20);  // slices of the first max_segments_per_read()
  ASSERT_TRUE(held.ok()) << held.status();
  const size_t held_segments = held->slices.size();
  ASSERT_GT(held_segments, 1u);
  std::string expected;
  ASSERT_TRUE(held->AppendTo(&expected).ok());

  const int deleted_fds_before = CountDeletedFds();
  auto retained = log->DeleteRecordsBefore(bases[10]);
  ASSERT_TRUE(retained.ok()) << retained.status();
  EXPECT_EQ(retained->segments_deleted, 10);
  EXPECT_FALSE(
      PosixFileSystem()->Exists(dir_.Sub("t-0/" + SegmentFileStem(bases[0]) + ".log")).value());
  EXPECT_EQ(log->Read(bases[0], 1).status().code(), absl::StatusCode::kOutOfRange);
  // Churn the budget with the remaining segments.
  for (size_t i = 10; i < bases.size(); ++i) ASSERT_TRUE(log->Read(bases[i], 1).ok());
  ExpectBounded("deleted segments pinned");

  std::string bytes;
  ASSERT_TRUE(held->AppendTo(&bytes).ok());
  EXPECT_EQ(bytes, expected);
  ASSERT_NO_FATAL_FAILURE(ExpectFirstRecord(*held, bases[0]));
  const FileSlice& slice = held->slices[0];
  std::string via_fd(slice.size, '\0');
  ASSERT_EQ(pread(slice.fd(), via_fd.data(), via_fd.size(), slice.position),
            static_cast<ssize_t>(slice.size));
  EXPECT_EQ(via_fd, expected.substr(0, slice.size));

  // The deleted files are held open by the slices alone, and count against the budget until
  // they go.
  EXPECT_EQ(CountDeletedFds() - deleted_fds_before, 3 * static_cast<int>(held_segments));
  const int64_t open_with_slices = SegmentHandleCache::Global().open();
  held->slices.clear();
  EXPECT_EQ(SegmentHandleCache::Global().open(),
            open_with_slices - static_cast<int64_t>(held_segments));
  EXPECT_EQ(CountDeletedFds(), deleted_fds_before);
}

TEST_F(LogHandleBudgetTest, TruncateReactivatesAnEvictedSegmentAndSparesPinnedOnes) {
  auto log = OpenLog();
  AppendRecords(log.get(), 120);
  Flusher::Global().WaitUntilIdle();  // the post-roll syncs, so that only this test opens files
  const std::vector<int64_t> bases = log->SegmentBaseOffsets();
  ASSERT_GT(bases.size(), 40u);
  auto held = log->Read(bases[30], 1);  // a segment the truncation deletes
  ASSERT_TRUE(held.ok()) << held.status();
  // Use every later segment so that segment 10's handle is evicted.
  for (size_t i = 11; i < bases.size(); ++i) ASSERT_TRUE(log->Read(bases[i], 1).ok());

  // Inside segment 10: its first batch stays, and it becomes the active segment again.
  ASSERT_TRUE(log->Truncate(bases[10] + 1).ok());
  EXPECT_EQ(log->end_offset(), bases[10] + 1);
  EXPECT_EQ(log->SegmentBaseOffsets().back(), bases[10]);
  ASSERT_NO_FATAL_FAILURE(ExpectFirstRecord(*held, bases[30]));

  AppendRecords(log.get(), 1);  // appends go to the reactivated segment
  EXPECT_EQ(log->SegmentBaseOffsets().back(), bases[10]);
  AppendRecords(log.get(), 40);
  ASSERT_NO_FATAL_FAILURE(ExpectAllRecords(log.get()));
  const int64_t end = log->end_offset();
  held->slices.clear();
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog();
  EXPECT_EQ(log->end_offset(), end);
  ASSERT_NO_FATAL_FAILURE(ExpectAllRecords(log.get()));
}

}  // namespace
}  // namespace varve
