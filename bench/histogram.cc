#include "bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <limits>

namespace varve::bench {

int LatencyHistogram::BucketOf(int64_t ns) {
  if (ns < kExact) return static_cast<int>(std::max<int64_t>(ns, 0));
  const int exponent = 63 - std::countl_zero(static_cast<uint64_t>(ns));  // >= kSubBits + 1
  const int shift = exponent - kSubBits;  // ns >> shift lies in [64, 128)
  return ((shift + 1) << kSubBits) + static_cast<int>((ns >> shift) - (1 << kSubBits));
}

int64_t LatencyHistogram::BucketLow(int bucket) {
  if (bucket < kExact) return bucket;
  const int shift = (bucket >> kSubBits) - 1;
  const uint64_t mantissa = (bucket & ((1 << kSubBits) - 1)) + (1 << kSubBits);
  return static_cast<int64_t>(mantissa << shift);
}

int64_t LatencyHistogram::BucketHigh(int bucket) {
  if (bucket < kExact) return bucket;
  const int shift = (bucket >> kSubBits) - 1;
  const uint64_t mantissa = (bucket & ((1 << kSubBits) - 1)) + (1 << kSubBits);
  const uint64_t high = ((mantissa + 1) << shift) - 1;
  return static_cast<int64_t>(std::min<uint64_t>(high, std::numeric_limits<int64_t>::max()));
}

void LatencyHistogram::Record(int64_t ns) {
  ns = std::max<int64_t>(ns, 0);
  ++counts_[BucketOf(ns)];
  min_ = count_ == 0 ? ns : std::min(min_, ns);
  max_ = std::max(max_, ns);
  sum_ += ns;
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  count_ += other.count_;
}

int64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  if (q <= 0) return min_;
  if (q >= 100) return max_;
  // Nearest rank: the smallest sample with at least q% of the samples at or below it.
  // (The epsilon keeps 99.9% of 10000 at rank 9990 despite 99.9 having no exact double.)
  const int64_t rank = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(q * static_cast<double>(count_) / 100 - 1e-7)));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // Any value of the bucket is within its width of the sample; report the middle, but
      // never outside what was observed.
      const int64_t mid = BucketLow(i) + (BucketHigh(i) - BucketLow(i)) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  assert(false && "counts_ add up to count_");
  return max_;
}

std::vector<std::pair<int64_t, int64_t>> LatencyHistogram::Buckets() const {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int i = 0; i < kBuckets; ++i) {
    if (counts_[i] > 0) out.emplace_back(BucketHigh(i), counts_[i]);
  }
  return out;
}

}  // namespace varve::bench
