#pragma once

// The three Prometheus metric kinds as lock-free cells: Counter, Gauge, Histogram. They are
// created and owned by a Registry (registry.h); hot paths look one up once, keep the pointer
// (stable for the Registry's lifetime) and update it with relaxed atomics.
//
// Example:
//   Counter* produced = registry.AddCounter("varve_produce_bytes_total", "Bytes appended.");
//   produced->Increment(batch.size());   // any thread, no lock
//
// Threading: every method may be called from any thread concurrently. A scrape reads each cell
// atomically, but not all cells of a histogram as one snapshot (see Histogram::Snapshot).

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace varve::metrics {

// A monotonically increasing value (Prometheus "counter").
class Counter {
 public:
  // `delta` must be >= 0 (asserted); a counter only goes up.
  void Increment(double delta = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down (Prometheus "gauge").
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  void Increment() { Add(1); }
  void Decrement() { Add(-1); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (Prometheus "histogram"). Bucket i counts values
// <= bounds[i]; the implicit last bucket is +Inf. Rendered cumulatively, as Prometheus expects.
class Histogram {
 public:
  // `bounds`: strictly increasing, finite (checked by the Registry, which creates histograms).
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries; the last is the +Inf bucket
    double sum = 0;
    uint64_t count = 0;  // equals cumulative.back(), so a scrape is self-consistent
  };
  // Concurrent observations may be partly included: sum may lag or lead the counts slightly.
  Snapshot TakeSnapshot() const;

  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<double> sum_{0};
};

// Bucket bounds start, start*factor, ... (count values). start > 0, factor > 1, count >= 1.
std::vector<double> ExponentialBuckets(double start, double factor, int count);
// Bucket bounds start, start+width, ... (count values). width > 0, count >= 1.
std::vector<double> LinearBuckets(double start, double width, int count);
// Latency buckets in seconds from 100 µs to ~50 s (powers of about 2.5), for request timings.
std::vector<double> DefaultLatencyBuckets();

}  // namespace varve::metrics
