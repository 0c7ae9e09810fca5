// Log::ApplyRetention and Log::DeleteRecordsBefore applied to real segments. The policy itself
// is tested in retention_test.cc.

#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/log.h"

namespace varve {
namespace {

class LogRetentionTest : public ::testing::Test {
 protected:
  std::unique_ptr<Log> OpenLog() {
    LogOptions options;
    options.config = config_;
    options.now_ms = [this] { return now_ms_; };
    auto log = Log::Open(dir_.Sub("t-0"), options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  // Appends `n` one-record batches with timestamps `ts`.
  void AppendAt(Log* log, int n, int64_t ts) {
    const std::string value(100, 'x');
    for (int i = 0; i < n; ++i) {
      RecordToAppend r[] = {{.value = value, .timestamp = ts}};
      ASSERT_TRUE(log->Append(r).ok());
    }
  }

  TempDir dir_;
  LogConfig config_ = [] {
    LogConfig c;
    c.segment_bytes = 1000;  // about 5 batches of 170 bytes per segment
    return c;
  }();
  int64_t now_ms_ = 1'000'000;
};

TEST_F(LogRetentionTest, TimeRetentionDeletesOldSegmentsAndPersistsTheStart) {
  config_.retention_ms = 10'000;
  auto log = OpenLog();
  AppendAt(log.get(), 12, 100'000);  // old
  AppendAt(log.get(), 12, 995'000);  // recent
  std::vector<int64_t> before = log->SegmentBaseOffsets();
  ASSERT_GT(before.size(), 4u);
  auto result = log->ApplyRetention();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->reason, RetentionReason::kTime);
  EXPECT_GT(result->segments_deleted, 0);
  const int64_t start = log->start_offset();
  EXPECT_EQ(start, log->SegmentBaseOffsets().front());
  EXPECT_LE(start, 12);  // the segment holding both old and new records stays
  EXPECT_EQ(log->Read(start - 1, 100).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(PosixFileSystem()->Exists(dir_.Sub("t-0/00000000000000000000.log")).value());
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog();
  EXPECT_EQ(log->start_offset(), start);
  EXPECT_EQ(log->end_offset(), 24);
}

TEST_F(LogRetentionTest, SizeRetentionKeepsAtLeastRetentionBytes) {
  config_.retention_bytes = 2000;
  auto log = OpenLog();
  AppendAt(log.get(), 40, now_ms_);
  auto result = log->ApplyRetention();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->reason, RetentionReason::kSize);
  EXPECT_GE(log->SizeBytes(), 2000);
  EXPECT_LT(log->SizeBytes(), 2000 + config_.segment_bytes);
}

TEST_F(LogRetentionTest, NeverDeletesAtOrAboveTheUpperBound) {
  config_.retention_ms = 1;
  auto log = OpenLog();
  AppendAt(log.get(), 30, 0);
  std::vector<int64_t> bases = log->SegmentBaseOffsets();
  auto result = log->ApplyRetention(/*upper_bound=*/bases[2]);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->segments_deleted, 2);
  EXPECT_EQ(log->start_offset(), bases[2]);
}

TEST_F(LogRetentionTest, DeletingEverythingRollsFirstSoTheLogKeepsASegment) {
  config_.retention_ms = 1;
  auto log = OpenLog();
  AppendAt(log.get(), 12, 0);
  auto result = log->ApplyRetention();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(log->SegmentBaseOffsets(), std::vector<int64_t>{12});
  EXPECT_EQ(log->start_offset(), 12);
  EXPECT_EQ(log->end_offset(), 12);
  auto empty = log->Read(12, 100);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  AppendAt(log.get(), 1, now_ms_);
  EXPECT_EQ(log->end_offset(), 13);
}

TEST_F(LogRetentionTest, DeleteRecordsMovesTheStartInsideASegment) {
  auto log = OpenLog();
  AppendAt(log.get(), 20, now_ms_);
  std::vector<int64_t> bases = log->SegmentBaseOffsets();
  const int64_t target = bases[1] + 2;
  auto result = log->DeleteRecordsBefore(target);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(log->start_offset(), target);
  EXPECT_EQ(log->SegmentBaseOffsets().front(), bases[1]);  // still holds offsets >= target
  EXPECT_EQ(log->Read(target - 1, 100).status().code(), absl::StatusCode::kOutOfRange);
  auto read = log->Read(target, 100);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->slices.front().first_offset, target);
  // A lower request changes nothing; one above the end is refused.
  ASSERT_TRUE(log->DeleteRecordsBefore(1).ok());
  EXPECT_EQ(log->start_offset(), target);
  EXPECT_EQ(log->DeleteRecordsBefore(21).status().code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog();
  EXPECT_EQ(log->start_offset(), target);
}

TEST_F(LogRetentionTest, ADeletedSegmentStaysReadableForItsReader) {
  config_.retention_ms = 1;
  auto log = OpenLog();
  AppendAt(log.get(), 12, 0);
  auto held = log->Read(0, 1 << 20);
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(log->ApplyRetention().ok());
  ASSERT_EQ(log->start_offset(), 12);
  std::string bytes;
  ASSERT_TRUE(held->AppendTo(&bytes).ok());
  BatchIterator it(bytes);
  BatchView b;
  int batches = 0;
  while (it.Next(&b)) ++batches;
  EXPECT_TRUE(it.status().ok());
  EXPECT_EQ(batches, 12);
}

}  // namespace
}  // namespace varve
