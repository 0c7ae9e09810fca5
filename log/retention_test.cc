#include "log/retention.h"

#include <algorithm>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "log/record_batch.h"

namespace varve {
namespace {

constexpr int64_t kNow = 1'000'000;

struct SegmentSpec {
  int64_t size_bytes;
  int64_t max_timestamp;
  int64_t offsets = 100;  // how many offsets it spans
};

// Contiguous segments from offset 0, oldest first, the last one active.
std::vector<RetentionSegment> MakeSegments(std::initializer_list<SegmentSpec> specs) {
  std::vector<RetentionSegment> segments;
  int64_t base = 0;
  for (const SegmentSpec& spec : specs) {
    segments.push_back({.base_offset = base,
                        .next_offset = base + spec.offsets,
                        .size_bytes = spec.size_bytes,
                        .max_timestamp = spec.max_timestamp,
                        .active = false});
    base += spec.offsets;
  }
  segments.back().active = true;
  return segments;
}

// Both limits off, nothing below the log start, high watermark at the log end.
RetentionInput InputFor(const std::vector<RetentionSegment>& segments) {
  return {.segments = segments,
          .log_start_offset = segments.front().base_offset,
          .upper_bound = segments.back().next_offset,
          .now_ms = kNow,
          .retention_ms = -1,
          .retention_bytes = -1};
}

// Three sealed segments [0,100) [100,200) [200,300) of 100 bytes, written at kNow - 3000,
// kNow - 2000, kNow - 1000, and an active [300,350) of 50 bytes written at kNow.
std::vector<RetentionSegment> FourSegments() {
  return MakeSegments({{100, kNow - 3000}, {100, kNow - 2000}, {100, kNow - 1000}, {50, kNow, 50}});
}

void ExpectDecision(const RetentionDecision& d, int count, RetentionReason reason, bool roll_first,
                    int64_t new_log_start_offset) {
  EXPECT_EQ(d.delete_count, count);
  EXPECT_EQ(d.reason, reason) << RetentionReasonName(d.reason);
  EXPECT_EQ(d.roll_first, roll_first);
  EXPECT_EQ(d.new_log_start_offset, new_log_start_offset);
}

// ---- nothing configured ---------------------------------------------------------------------

TEST(RetentionTest, MinusOneDisablesBothLimits) {
  auto segments = FourSegments();
  ExpectDecision(DecideRetention(InputFor(segments)), 0, RetentionReason::kNone, false, 0);
}

TEST(RetentionTest, SingleEmptySegmentIsKeptWhateverTheLimits) {
  auto segments = MakeSegments({{0, kNoTimestamp, 0}});
  RetentionInput input = InputFor(segments);
  input.retention_ms = 0;
  input.retention_bytes = 0;
  ExpectDecision(DecideRetention(input), 0, RetentionReason::kNone, false, 0);
}

// ---- rule 1: log start offset ---------------------------------------------------------------

TEST(RetentionTest, LogStartBreachDeletesSegmentsWhollyBelowIt) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.log_start_offset = 200;
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kLogStartOffset, false, 200);
}

TEST(RetentionTest, LogStartInsideSegmentKeepsThatSegment) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.log_start_offset = 150;
  // [0,100) goes; [100,200) still holds 150..199. The start offset stays inside it.
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kLogStartOffset, false, 150);
}

TEST(RetentionTest, LogStartOneBelowSegmentEndKeepsIt) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.log_start_offset = 99;
  ExpectDecision(DecideRetention(input), 0, RetentionReason::kNone, false, 99);
}

TEST(RetentionTest, LogStartBreachNeverDeletesTheActiveSegment) {
  // DeleteRecords up to the log end: Kafka's rule needs a next segment, so the active one stays
  // (and no roll is forced); its records are below the log start and no longer readable.
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.log_start_offset = 350;
  ExpectDecision(DecideRetention(input), 3, RetentionReason::kLogStartOffset, false, 350);
}

TEST(RetentionTest, LogStartBreachAppliesWithoutAnyLimit) {
  // What a compacted topic gets: both limits off, DeleteRecords still frees whole segments.
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.log_start_offset = 300;
  ASSERT_EQ(input.retention_ms, -1);
  ASSERT_EQ(input.retention_bytes, -1);
  ExpectDecision(DecideRetention(input), 3, RetentionReason::kLogStartOffset, false, 300);
}

// ---- rule 2: size ---------------------------------------------------------------------------

TEST(RetentionTest, SizeDeletesOldestWhileLogStaysAtLeastRetentionBytes) {
  auto segments = FourSegments();  // 350 bytes
  RetentionInput input = InputFor(segments);
  input.retention_bytes = 200;
  // 350 - 200 >= 100: delete [0,100); 250 - 200 < 100: stop.
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kSize, false, 100);
}

TEST(RetentionTest, SizeBoundaryIsInclusive) {
  auto segments = FourSegments();  // 350 bytes
  RetentionInput input = InputFor(segments);
  input.retention_bytes = 150;  // 350 - 150 = 200 >= 100, then 250 - 150 = 100 >= 100 exactly
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kSize, false, 200);
  input.retention_bytes = 151;  // 250 - 151 = 99 < 100
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kSize, false, 100);
}

TEST(RetentionTest, SizeTotalShrinksAsSegmentsGo) {
  // 330 bytes, retention.bytes 25: measured against the starting total every 10-byte segment
  // would go (330 - 25 >= 10), but once the large one is gone, 30 - 25 < 10.
  auto segments = MakeSegments({{300, kNow}, {10, kNow}, {10, kNow}, {10, kNow}});
  RetentionInput input = InputFor(segments);
  input.retention_bytes = 25;
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kSize, false, 100);
}

TEST(RetentionTest, SizeBelowLimitDeletesNothing) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.retention_bytes = 1000;
  ExpectDecision(DecideRetention(input), 0, RetentionReason::kNone, false, 0);
}

TEST(RetentionTest, SizeZeroDeletesEverythingAndRollsFirst) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.retention_bytes = 0;
  ExpectDecision(DecideRetention(input), 4, RetentionReason::kSize, true, 350);
}

// ---- rule 3: time ---------------------------------------------------------------------------

TEST(RetentionTest, TimeDeletesSegmentsOlderThanRetention) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.retention_ms = 1500;  // the first two are 3000 and 2000 ms old
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kTime, false, 200);
}

TEST(RetentionTest, TimeBoundaryIsExclusive) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.retention_ms = 2000;  // [100,200) is exactly 2000 ms old: kept
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kTime, false, 100);
  input.retention_ms = 1999;
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kTime, false, 200);
}

TEST(RetentionTest, TimeStopsAtFirstYoungSegment) {
  // Producer timestamps need not grow: an old segment behind a young one is kept.
  auto segments = MakeSegments({{100, kNow - 9000}, {100, kNow}, {100, kNow - 9000}, {50, kNow}});
  RetentionInput input = InputFor(segments);
  input.retention_ms = 1000;
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kTime, false, 100);
}

TEST(RetentionTest, SegmentWithoutTimestampsIsNotDeletedByTime) {
  // kNoTimestamp is -1; "now - (-1) > retention.ms" must not make it look ancient. It also
  // stops the rule for the (old) segments after it.
  auto segments =
      MakeSegments({{100, kNoTimestamp}, {100, kNow - 9000}, {100, kNow - 9000}, {50, kNow}});
  RetentionInput input = InputFor(segments);
  input.retention_ms = 1000;
  ExpectDecision(DecideRetention(input), 0, RetentionReason::kNone, false, 0);
}

TEST(RetentionTest, SegmentWithoutTimestampsIsDeletedBySizeOrLogStart) {
  auto segments = MakeSegments({{100, kNoTimestamp}, {100, kNoTimestamp}, {50, kNow}});
  RetentionInput input = InputFor(segments);
  input.retention_ms = 0;
  input.log_start_offset = 100;
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kLogStartOffset, false, 100);
  input.log_start_offset = 0;
  input.retention_bytes = 50;
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kSize, false, 200);
}

TEST(RetentionTest, FutureTimestampNeverExpires) {
  auto segments = MakeSegments({{100, kNow + 1'000'000}, {50, kNow}});
  RetentionInput input = InputFor(segments);
  input.retention_ms = 0;
  ExpectDecision(DecideRetention(input), 0, RetentionReason::kNone, false, 0);
}

TEST(RetentionTest, TimeZeroDeletesAllOlderThanNow) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.retention_ms = 0;  // the active segment's newest record is at kNow: not older
  ExpectDecision(DecideRetention(input), 3, RetentionReason::kTime, false, 300);
}

TEST(RetentionTest, ExtremeTimestampsDoNotOverflow) {
  auto segments = MakeSegments({{100, 0}, {50, std::numeric_limits<int64_t>::max()}});
  RetentionInput input = InputFor(segments);
  input.now_ms = std::numeric_limits<int64_t>::max();
  input.retention_ms = std::numeric_limits<int64_t>::max() - 1;
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kTime, false, 100);
  input.now_ms = std::numeric_limits<int64_t>::min();
  input.retention_ms = 0;
  ExpectDecision(DecideRetention(input), 0, RetentionReason::kNone, false, 0);
}

// ---- rule 4: the upper bound (high watermark) -------------------------------------------------

TEST(RetentionTest, UpperBoundStopsDeletion) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.retention_ms = 0;
  input.upper_bound = 250;  // [200,300) holds offsets not yet replicated
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kTime, false, 200);
}

TEST(RetentionTest, UpperBoundEqualToSegmentEndAllowsIt) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.retention_bytes = 0;
  input.upper_bound = 200;
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kSize, false, 200);
  input.upper_bound = 199;
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kSize, false, 100);
}

TEST(RetentionTest, UpperBoundBelowLogEndKeepsTheActiveSegment) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.retention_bytes = 0;
  input.upper_bound = 349;
  ExpectDecision(DecideRetention(input), 3, RetentionReason::kSize, false, 300);
}

TEST(RetentionTest, UpperBoundAtLogStartDeletesNothingAboveIt) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.retention_ms = 0;
  input.retention_bytes = 0;
  input.upper_bound = 0;  // high watermark not yet known
  ExpectDecision(DecideRetention(input), 0, RetentionReason::kNone, false, 0);
}

// ---- rule 5: the active segment --------------------------------------------------------------

TEST(RetentionTest, ActiveSegmentDeletedByTimeRequiresRollFirst) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.now_ms = kNow + 10'000;
  input.retention_ms = 5000;
  // The new empty active segment starts at the old log end; it becomes the log start.
  ExpectDecision(DecideRetention(input), 4, RetentionReason::kTime, true, 350);
}

TEST(RetentionTest, EmptyActiveSegmentIsNeverDeleted) {
  auto segments = MakeSegments({{100, kNow - 9000}, {100, kNow - 9000}, {0, kNoTimestamp, 0}});
  RetentionInput input = InputFor(segments);
  input.retention_ms = 0;
  input.retention_bytes = 0;
  input.log_start_offset = 200;
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kLogStartOffset, false, 200);
}

TEST(RetentionTest, EmptyActiveSegmentWithOldTimestampIsNeverDeleted) {
  // An empty segment cannot really carry a timestamp, but the size check alone must decide.
  auto segments = MakeSegments({{100, kNow - 9000}, {0, kNow - 9000, 0}});
  RetentionInput input = InputFor(segments);
  input.retention_ms = 0;
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kTime, false, 100);
}

// ---- how the rules compose -------------------------------------------------------------------

TEST(RetentionTest, EachRuleResumesWhereThePreviousStopped) {
  // Log start takes [0,100), size takes [100,200), time takes [200,300).
  auto segments = MakeSegments({{100, kNow}, {100, kNow}, {10, kNow - 9000}, {10, kNow}});
  RetentionInput input = InputFor(segments);
  input.log_start_offset = 100;
  input.retention_bytes = 20;
  input.retention_ms = 1000;
  ExpectDecision(DecideRetention(input), 3, RetentionReason::kLogStartOffset, false, 300);
}

TEST(RetentionTest, SizeIsMeasuredAfterLogStartDeletions) {
  // 400 bytes; retention.bytes 250. Kafka's size pass runs after the log-start pass removed
  // [0,100) (100 bytes): 300 - 250 < 100, so size takes nothing more.
  auto segments = MakeSegments({{100, kNow}, {100, kNow}, {100, kNow}, {100, kNow}});
  RetentionInput input = InputFor(segments);
  input.log_start_offset = 100;
  input.retention_bytes = 250;
  ExpectDecision(DecideRetention(input), 1, RetentionReason::kLogStartOffset, false, 100);
  input.retention_bytes = 200;
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kLogStartOffset, false, 200);
}

TEST(RetentionTest, ReasonIsTheEarliestPassThatDeleted) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.retention_ms = 1500;    // would take 2
  input.retention_bytes = 200;  // takes 1 first
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kSize, false, 200);
  input.retention_bytes = 1000;  // takes none: time deleted first
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kTime, false, 200);
}

TEST(RetentionTest, UpperBoundAppliesToEveryRule) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  input.log_start_offset = 200;
  input.retention_ms = 0;
  input.retention_bytes = 0;
  input.upper_bound = 200;
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kLogStartOffset, false, 200);
}

// Kafka's algorithm as written (UnifiedLog.deleteOldSegments): three passes, each over what the
// previous left, rolling when a pass would delete every segment.
RetentionDecision KafkaThreePasses(const RetentionInput& input) {
  std::vector<RetentionSegment> segments(input.segments.begin(), input.segments.end());
  int64_t log_start = input.log_start_offset;
  RetentionDecision decision;
  auto pass = [&](auto should_delete, RetentionReason reason) {
    size_t deletable = 0;
    for (size_t i = 0; i < segments.size(); ++i) {
      const bool last = i + 1 == segments.size();
      const int64_t upper = last ? segments[i].next_offset : segments[i + 1].base_offset;
      const bool last_and_empty = last && segments[i].size_bytes == 0;
      if (input.upper_bound >= upper && should_delete(i) && !last_and_empty) {
        ++deletable;
      } else {
        break;
      }
    }
    if (deletable == 0) return;
    if (deletable == segments.size()) {
      const int64_t end = segments.back().next_offset;
      segments.back().active = false;
      segments.push_back({end, end, 0, kNoTimestamp, true});
      decision.roll_first = true;
    }
    segments.erase(segments.begin(), segments.begin() + deletable);
    decision.delete_count += static_cast<int>(deletable);
    if (decision.reason == RetentionReason::kNone) decision.reason = reason;
    log_start = std::max(log_start, segments.front().base_offset);
  };
  pass(
      [&](size_t i) { return i + 1 < segments.size() && segments[i + 1].base_offset <= log_start; },
      RetentionReason::kLogStartOffset);
  if (input.retention_bytes >= 0) {
    int64_t diff = -input.retention_bytes;
    for (const RetentionSegment& s : segments) diff += s.size_bytes;
    pass(
        [&](size_t i) {
          if (diff - segments[i].size_bytes < 0) return false;
          diff -= segments[i].size_bytes;
          return true;
        },
        RetentionReason::kSize);
  }
  if (input.retention_ms >= 0) {
    pass(
        [&](size_t i) {
          const int64_t ts = segments[i].max_timestamp;
          return ts >= 0 && input.now_ms - ts > input.retention_ms;
        },
        RetentionReason::kTime);
  }
  decision.new_log_start_offset = log_start;
  return decision;
}

TEST(RetentionTest, MatchesKafkasThreeSeparatePasses) {
  std::mt19937_64 rng(20240611);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int iteration = 0; iteration < 200'000; ++iteration) {
    std::vector<RetentionSegment> segments;
    const int n = static_cast<int>(uniform(1, 6));
    int64_t base = uniform(0, 3);
    for (int i = 0; i < n; ++i) {
      const int64_t size = uniform(0, 5);  // empty sealed segments too
      const int64_t offsets = size == 0 ? 0 : uniform(1, 3);
      const int64_t ts = size == 0 || uniform(0, 4) == 0 ? kNoTimestamp : uniform(0, 12);
      segments.push_back({base, base + offsets, size, ts, i == n - 1});
      base += offsets;
    }
    RetentionInput input = {
        .segments = segments,
        .log_start_offset = uniform(segments.front().base_offset, base),
        .upper_bound = 0,
        .now_ms = 10,
        .retention_ms = uniform(-1, 10),
        .retention_bytes = uniform(-1, 20),
    };
    input.upper_bound = uniform(input.log_start_offset, base);
    const RetentionDecision want = KafkaThreePasses(input);
    const RetentionDecision got = DecideRetention(input);
    ASSERT_EQ(got.delete_count, want.delete_count) << "iteration " << iteration;
    ASSERT_EQ(got.reason, want.reason) << "iteration " << iteration;
    ASSERT_EQ(got.roll_first, want.roll_first) << "iteration " << iteration;
    ASSERT_EQ(got.new_log_start_offset, want.new_log_start_offset) << "iteration " << iteration;
  }
}

TEST(RetentionTest, ReasonNames) {
  EXPECT_STREQ(RetentionReasonName(RetentionReason::kNone), "none");
  EXPECT_STREQ(RetentionReasonName(RetentionReason::kLogStartOffset), "log_start_offset");
  EXPECT_STREQ(RetentionReasonName(RetentionReason::kSize), "size");
  EXPECT_STREQ(RetentionReasonName(RetentionReason::kTime), "time");
}

// ---- DeleteRecords -------------------------------------------------------------------------

TEST(CheckNewLogStartOffsetTest, RaisesTheStart) {
  auto got = CheckNewLogStartOffset(/*requested=*/250, /*current_start=*/100, /*upper_bound=*/300);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 250);
}

TEST(CheckNewLogStartOffsetTest, LowerRequestIsANoOp) {
  auto got = CheckNewLogStartOffset(50, 100, 300);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 100);
}

TEST(CheckNewLogStartOffsetTest, UpToTheHighWatermarkIsAllowed) {
  auto got = CheckNewLogStartOffset(300, 100, 300);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 300);
}

TEST(CheckNewLogStartOffsetTest, AboveTheHighWatermarkIsOutOfRange) {
  auto got = CheckNewLogStartOffset(301, 100, 300);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(got.status().message().find("301"), absl::string_view::npos);
}

TEST(CheckNewLogStartOffsetTest, NegativeIsOutOfRange) {
  // DeleteRecords' -1 means "the high watermark"; the handler translates it before calling.
  EXPECT_EQ(CheckNewLogStartOffset(-1, 0, 300).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(CheckNewLogStartOffsetTest, ThenRetentionDeletesWhatIsWhollyBelow) {
  auto segments = FourSegments();
  RetentionInput input = InputFor(segments);
  auto start = CheckNewLogStartOffset(250, input.log_start_offset, input.upper_bound);
  ASSERT_TRUE(start.ok()) << start.status();
  input.log_start_offset = *start;
  ExpectDecision(DecideRetention(input), 2, RetentionReason::kLogStartOffset, false, 250);
}

}  // namespace
}  // namespace varve
