#include "bench/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_format.h"

namespace varve::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSample = std::chrono::milliseconds(100);

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Progress::Progress(std::string label, int64_t record_size, const std::vector<Counter>& counters)
    : label_(std::move(label)),
      record_size_(record_size),
      counters_(counters),
      tty_(isatty(STDERR_FILENO) == 1),
      thread_([this] { Loop(); }) {}

Progress::~Progress() { Stop(); }

int64_t Progress::Sum() const {
  int64_t sum = 0;
  for (const Counter& c : counters_) sum += c.value.load(std::memory_order_relaxed);
  return sum;
}

void Progress::Loop() {
  const Clock::time_point start = Clock::now();
  Clock::time_point last_time = start;
  Clock::time_point last_print = start;
  int64_t last_count = 0;
  std::unique_lock l(mu_);
  while (!cv_.wait_for(l, kSample, [this] { return stop_; })) {
    const Clock::time_point now = Clock::now();
    const int64_t count = Sum();
    const double rate = (count - last_count) / Seconds(now - last_time);
    timeline_.push_back({Seconds(now - start), rate});
    last_time = now;
    last_count = count;
    if (now - last_print < (tty_ ? std::chrono::milliseconds(250) : std::chrono::seconds(2))) {
      continue;
    }
    last_print = now;
    // The rate shown is the average since the start: steadier than the last 100 ms.
    const double elapsed = Seconds(now - start);
    const double avg = count / elapsed;
    std::string line = absl::StrFormat("%-28s %6.1f s %13d records %12.0f records/s %9.1f MB/s",
                                       label_, elapsed, count, avg, avg * record_size_ / 1e6);
    std::fprintf(stderr, tty_ ? "\r%s" : "%s\n", line.c_str());
    std::fflush(stderr);
  }
}

std::vector<TimelinePoint> Progress::Stop() {
  {
    std::lock_guard l(mu_);
    if (stop_) return timeline_;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (tty_) std::fprintf(stderr, "\r%100s\r", "");
  return timeline_;
}

}  // namespace varve::bench
