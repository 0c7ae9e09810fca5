#pragma once

// LatencyHistogram: a fixed-size log-linear histogram of durations in nanoseconds, in the
// manner of HdrHistogram. Values below 128 ns are counted exactly; above, each power of two is
// split into 64 buckets, so a reported percentile is within 1/64 (1.6%) of the true sample.
// Memory is fixed (about 30 KiB) whatever the number of samples.
//
// Example:
//   LatencyHistogram h;                      // one per thread: Record is not synchronized
//   h.Record(elapsed_ns);
//   total.Merge(h);                          // after the threads have joined
//   int64_t p99 = total.Percentile(99.0);    // nanoseconds
//
// Percentiles use the nearest-rank definition: Percentile(q) is (the bucket holding) the
// smallest sample with at least q% of the samples at or below it; Percentile(0) is the minimum
// and Percentile(100) the maximum, both exact. An empty histogram reports 0.
//
// Not thread-safe; one writer at a time.

#include <array>
#include <cstdint>
#include <vector>

namespace varve::bench {

class LatencyHistogram {
 public:
  void Record(int64_t ns);
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }
  int64_t Percentile(double q) const;

  // Non-empty buckets as (upper bound in ns, count), in increasing order: what a plot of the
  // distribution needs.
  std::vector<std::pair<int64_t, int64_t>> Buckets() const;

  // The bucket of a value and the range of values a bucket holds; exposed for tests.
  static int BucketOf(int64_t ns);
  static int64_t BucketLow(int bucket);
  static int64_t BucketHigh(int bucket);

 private:
  static constexpr int kSubBits = 6;            // 64 buckets per power of two
  static constexpr int kExact = 2 << kSubBits;  // values below 128 have their own bucket
  static constexpr int kBuckets = (64 - kSubBits) << kSubBits;  // covers every int64

  std::array<int64_t, kBuckets> counts_{};
  int64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
};

}  // namespace varve::bench
