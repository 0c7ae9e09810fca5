// read: load a data set, then scan it sequentially with checksum verification, as a consumer
// catching up from the start of a log does.

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/status_macros.h"
#include "bench/workload.h"

namespace varve::bench {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

absl::Status DropCaches() {
  sync();
  int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoToStatus(errno, "--cold needs root to write", "/proc/sys/vm/drop_caches");
  }
  const bool ok = write(fd, "3\n", 2) == 2;
  const int err = errno;
  close(fd);
  if (!ok) return ErrnoToStatus(err, "write", "/proc/sys/vm/drop_caches");
  return absl::OkStatus();
}

absl::StatusOr<RunResult> RunReadWorkload(const BenchOptions& options, System* system,
                                          const std::string& label) {
  // The load: the append workload bounded by a record count, its figures kept aside.
  BenchOptions load = options;
  load.records = options.ReadRecords();
  load.duration_s.reset();
  absl::StatusOr<RunResult> loaded = RunAppendWorkload(load, system, label + " (load)");
  if (!loaded.ok()) return loaded.status();
  if (!loaded->note.empty()) {
    return absl::AbortedError(absl::StrCat("the load before the scan stopped: ", loaded->note));
  }
  RETURN_IF_ERROR(system->PrepareScan());

  // Records per partition, as the append workload spread them over threads and partitions.
  std::vector<int64_t> expected(options.partitions, 0);
  for (int t = 0; t < options.threads; ++t) {
    expected[t % options.partitions] +=
        *load.records / options.threads + (t < *load.records % options.threads ? 1 : 0);
  }

  const int threads = std::min(options.threads, options.partitions);
  std::vector<Counter> counters(threads);
  std::vector<absl::Status> errors(threads);
  RunResult result;
  result.system = system->kind();
  result.loaded_records = loaded->records;
  result.load_seconds = loaded->seconds;
  Progress progress(label, options.record_size, counters);
  const double budget = options.duration_s.value_or(0);
  do {
    if (options.cold) RETURN_IF_ERROR(DropCaches());
    const Clock::time_point start = Clock::now();
    const double cpu_start = ProcessCpuSeconds();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (int p = t; p < options.partitions && errors[t].ok(); p += threads) {
          absl::StatusOr<int64_t> seen = system->Scan(p, &counters[t].value);
          if (!seen.ok()) {
            errors[t] = seen.status();
          } else if (*seen != expected[p]) {
            errors[t] = absl::DataLossError(absl::StrCat(SystemName(system->kind()), " partition ",
                                                         p, ": scanned ", *seen,
                                                         " records, loaded ", expected[p]));
          }
        }
      });
    }
    for (std::thread& th : pool) th.join();
    result.seconds += std::chrono::duration<double>(Clock::now() - start).count();
    result.cpu_seconds += ProcessCpuSeconds() - cpu_start;
    for (const absl::Status& e : errors) {
      if (!e.ok()) return e;
    }
    ++result.passes;
    if (Interrupted().load()) {
      result.note = "interrupted";
      break;
    }
  } while (result.seconds < budget);
  result.timeline = progress.Stop();
  for (const Counter& c : counters) result.records += c.value.load();
  return result;
}

}  // namespace varve::bench
