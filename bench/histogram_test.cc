#include "bench/histogram.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace varve::bench {
namespace {

TEST(LatencyHistogram, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.Percentile(50), 0);
  EXPECT_EQ(h.Percentile(99.9), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0);
}

TEST(LatencyHistogram, NearestRankOnExactValues) {
  // 1..100 ns are below 128 and counted exactly.
  LatencyHistogram h;
  for (int v = 100; v >= 1; --v) h.Record(v);
  EXPECT_EQ(h.count(), 100);
  EXPECT_EQ(h.Percentile(0), 1);
  EXPECT_EQ(h.Percentile(1), 1);
  EXPECT_EQ(h.Percentile(50), 50);
  EXPECT_EQ(h.Percentile(50.5), 51);
  EXPECT_EQ(h.Percentile(99), 99);
  EXPECT_EQ(h.Percentile(99.9), 100);
  EXPECT_EQ(h.Percentile(100), 100);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LatencyHistogram, SingleValue) {
  LatencyHistogram h;
  h.Record(1'234'567);
  // The bucket's middle is clamped to what was observed.
  EXPECT_EQ(h.Percentile(50), 1'234'567);
  EXPECT_EQ(h.Percentile(99.9), 1'234'567);
}

TEST(LatencyHistogram, PercentilesWithinBucketPrecision) {
  // 1 us .. 1 ms uniformly, one sample per microsecond.
  LatencyHistogram h;
  for (int64_t us = 1; us <= 1000; ++us) h.Record(us * 1000);
  auto near = [](int64_t got, int64_t want) {
    return std::abs(got - want) <= want / 64 + 1;  // within one bucket width
  };
  EXPECT_TRUE(near(h.Percentile(50), 500'000)) << h.Percentile(50);
  EXPECT_TRUE(near(h.Percentile(90), 900'000)) << h.Percentile(90);
  EXPECT_TRUE(near(h.Percentile(99), 990'000)) << h.Percentile(99);
  EXPECT_TRUE(near(h.Percentile(99.9), 999'000)) << h.Percentile(99.9);
  EXPECT_EQ(h.Percentile(100), 1'000'000);
  EXPECT_EQ(h.min(), 1000);
}

TEST(LatencyHistogram, TailIsNotHiddenByTheBulk) {
  LatencyHistogram h;
  for (int i = 0; i < 9990; ++i) h.Record(100'000);   // 100 us
  for (int i = 0; i < 10; ++i) h.Record(50'000'000);  // 50 ms: the slowest 0.1%
  EXPECT_NEAR(h.Percentile(50), 100'000, 100'000 / 64);
  EXPECT_NEAR(h.Percentile(99), 100'000, 100'000 / 64);
  EXPECT_NEAR(h.Percentile(99.9), 100'000, 100'000 / 64);  // rank 9990 is still the bulk
  EXPECT_NEAR(h.Percentile(99.91), 50'000'000, 50'000'000 / 64);
  EXPECT_EQ(h.max(), 50'000'000);
}

TEST(LatencyHistogram, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, all;
  for (int64_t v = 1; v < 200'000; v += 37) {
    (v % 2 ? a : b).Record(v);
    all.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double q : {0.0, 10.0, 50.0, 99.0, 99.9, 100.0})
    EXPECT_EQ(a.Percentile(q), all.Percentile(q));
  LatencyHistogram empty;
  empty.Merge(all);
  EXPECT_EQ(empty.min(), all.min());
}

TEST(LatencyHistogram, BucketsCoverEveryValueContiguously) {
  for (int b = 0; b < 3000; ++b) {
    ASSERT_LE(LatencyHistogram::BucketLow(b), LatencyHistogram::BucketHigh(b)) << b;
    ASSERT_EQ(LatencyHistogram::BucketHigh(b) + 1, LatencyHistogram::BucketLow(b + 1)) << b;
    ASSERT_EQ(LatencyHistogram::BucketOf(LatencyHistogram::BucketLow(b)), b);
    ASSERT_EQ(LatencyHistogram::BucketOf(LatencyHistogram::BucketHigh(b)), b);
  }
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(LatencyHistogram::BucketHigh(LatencyHistogram::BucketOf(max)), max);
  LatencyHistogram h;
  h.Record(max);
  h.Record(-5);  // a clock that went backwards counts as 0
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.Percentile(100), max);
}

}  // namespace
}  // namespace varve::bench
