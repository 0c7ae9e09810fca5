// append and durable-append (and the load phase of read): threads append batches as fast as
// their acknowledgements allow. The two workloads differ only in the durability the systems
// were opened with (bench/system.h says what each system acknowledges).

#include <sys/resource.h>
#include <sys/statvfs.h>

#include <chrono>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/workload.h"

namespace varve::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Stop a timed run while this much space is still free: the disk under test is shared.
constexpr int64_t kMinFreeBytes = 4LL << 30;

// Incompressible record contents, the same for every system: record i of a thread is a view
// into a 1 MiB pool of random bytes at a position that moves with i.
class Payload {
 public:
  explicit Payload(int64_t record_size) : record_size_(record_size) {
    pool_.resize(kPool + record_size);
    std::mt19937_64 random(42);
    for (size_t i = 0; i + 8 <= pool_.size(); i += 8) {
      const uint64_t v = random();
      std::memcpy(&pool_[i], &v, 8);
    }
  }
  absl::string_view Record(int64_t i) const {
    return absl::string_view(pool_.data() + (i * 4099) % kPool, record_size_);
  }

 private:
  static constexpr int64_t kPool = 1 << 20;
  const int64_t record_size_;
  std::string pool_;
};

}  // namespace

std::atomic<bool>& Interrupted() {
  static std::atomic<bool> interrupted{false};
  return interrupted;
}

double ProcessCpuSeconds() {
  rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

int64_t FreeBytes(const std::string& dir) {
  struct statvfs s;
  if (statvfs(dir.c_str(), &s) != 0) return -1;
  return static_cast<int64_t>(s.f_bavail) * static_cast<int64_t>(s.f_frsize);
}

absl::StatusOr<RunResult> RunAppendWorkload(const BenchOptions& options, System* system,
                                            const std::string& label) {
  const int threads = options.threads;
  std::vector<std::unique_ptr<Writer>> writers;
  for (int t = 0; t < threads; ++t) {
    absl::StatusOr<std::unique_ptr<Writer>> w = system->NewWriter(t % options.partitions);
    if (!w.ok()) return w.status();
    writers.push_back(std::move(*w));
  }
  const Payload payload(options.record_size);
  std::vector<Counter> counters(threads);
  std::vector<LatencyHistogram> latencies(threads);
  std::vector<absl::Status> errors(threads);
  std::atomic<bool> stop{false};
  std::atomic<int> running{threads};

  auto quota = [&](int t) -> int64_t {
    if (!options.records) return std::numeric_limits<int64_t>::max();
    return *options.records / threads + (t < *options.records % threads ? 1 : 0);
  };
  auto body = [&](int t) {
    std::vector<absl::string_view> batch;
    const int64_t limit = quota(t);
    int64_t done = 0;
    int64_t record = int64_t{t} << 32;
    while (done < limit && !stop.load(std::memory_order_relaxed)) {
      const int n = static_cast<int>(std::min<int64_t>(options.batch_records, limit - done));
      batch.clear();
      for (int i = 0; i < n; ++i) batch.push_back(payload.Record(record++));
      const Clock::time_point begin = Clock::now();
      absl::Status s = writers[t]->Append(batch);
      const Clock::time_point end = Clock::now();
      if (!s.ok()) {
        errors[t] = s;
        stop = true;
        break;
      }
      latencies[t].Record(
          std::chrono::duration_cast<std::chrono::nanoseconds>(end - begin).count());
      done += n;
      counters[t].value.fetch_add(n, std::memory_order_relaxed);
    }
    // Gone as soon as this thread is: a writer waiting for its acknowledgement may be waiting
    // for every other writer of its partition (the plain writer syncs a partial buffer then).
    writers[t].reset();
    running.fetch_sub(1);
  };

  RunResult result;
  result.system = system->kind();
  Progress progress(label, options.record_size, counters);
  const Clock::time_point start = Clock::now();
  const double cpu_start = ProcessCpuSeconds();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(body, t);
  const Clock::time_point deadline =
      options.duration_s ? start + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(*options.duration_s))
                         : Clock::time_point::max();
  Clock::time_point last_space_check = start;
  while (running.load() > 0 && !stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    if (Interrupted().load()) {
      result.note = "interrupted";
      break;
    }
    if (now - last_space_check >= std::chrono::seconds(1)) {
      last_space_check = now;
      const int64_t free_bytes = FreeBytes(options.dir);
      if (free_bytes >= 0 && free_bytes < kMinFreeBytes) {
        result.note = absl::StrCat("stopped early: ", free_bytes >> 20, " MiB left on the disk");
        break;
      }
    }
  }
  stop = true;
  for (std::thread& th : pool) th.join();
  absl::Status finished = system->FinishWrites();
  const Clock::time_point end = Clock::now();
  result.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  result.timeline = progress.Stop();
  for (const absl::Status& e : errors) {
    if (!e.ok()) return e;
  }
  if (!finished.ok()) return finished;

  result.seconds = std::chrono::duration<double>(end - start).count();
  for (int t = 0; t < threads; ++t) {
    result.records += counters[t].value.load();
    result.latency.Merge(latencies[t]);
  }
  return result;
}

}  // namespace varve::bench
