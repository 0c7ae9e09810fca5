#pragma once

// Progress: the live progress line on stderr and the throughput timeline a plot draws.
//
// Example:
//   std::vector<Counter> counters(threads);  // each thread adds its acknowledged records
//   Progress progress("varve append", record_size, counters);
//   ... run ...
//   std::vector<TimelinePoint> timeline = progress.Stop();
//
// A background thread samples the sum of the counters every 100 ms. On a terminal the line is
// rewritten in place four times a second and erased by Stop(); otherwise (a log file, a test)
// one line is printed every 2 seconds. Counters are read with relaxed loads: the figures are
// approximate while running, and the final ones come from the workload, not from here.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace varve::bench {

// One thread's count, alone on its cache line.
struct alignas(64) Counter {
  std::atomic<int64_t> value{0};
};

struct TimelinePoint {
  double t_s;            // seconds since the phase started
  double records_per_s;  // over the preceding sample interval
};

class Progress {
 public:
  Progress(std::string label, int64_t record_size, const std::vector<Counter>& counters);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Stops sampling, clears the line, and returns the timeline. Idempotent.
  std::vector<TimelinePoint> Stop();

 private:
  void Loop();
  int64_t Sum() const;

  const std::string label_;
  const int64_t record_size_;
  const std::vector<Counter>& counters_;
  const bool tty_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<TimelinePoint> timeline_;
  std::thread thread_;
};

}  // namespace varve::bench
