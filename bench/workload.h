#pragma once

// The workloads: each runs one system once and measures it (bench/append_workload.cc,
// bench/read_workload.cc). main() opens the systems, calls these in turn, and reports.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<System> system, OpenSystem(kind, config));
//   ASSIGN_OR_RETURN(RunResult result, RunAppendWorkload(options, system.get(), "varve"));
//
// Thread use: a workload starts options.threads threads and joins them before returning. It
// stops early (and says so in RunResult::note) on SIGINT (Interrupted()) or when the disk under
// test is nearly full.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/histogram.h"
#include "bench/options.h"
#include "bench/progress.h"
#include "bench/system.h"

namespace varve::bench {

struct RunResult {
  SystemKind system = SystemKind::kVarve;
  int run = 1;           // 1..--repeat
  std::string describe;  // System::Describe()
  int64_t records = 0;   // acknowledged (writes) or read (scans) in the timed phase
  double seconds = 0;    // the timed phase
  // User + system CPU time of the whole process during the timed phase: every thread, RocksDB's
  // background threads and io_uring's workers included; the kernel's writeback threads not.
  // Less sensitive than `seconds` to other load on the machine.
  double cpu_seconds = 0;
  LatencyHistogram latency;  // one sample per acknowledged batch; empty for read
  std::vector<TimelinePoint> timeline;
  // read: scans over the data set, and the untimed load before them.
  int passes = 0;
  int64_t loaded_records = 0;
  double load_seconds = 0;
  std::string note;  // why the run stopped early, if it did
  // kafka workloads (the broker runs in this process): VmRSS of the process once the broker
  // has started and once the clients are gone at the end, VmHWM at the end, and the record
  // bytes the broker appended in the run (load included); -1 when not measured.
  int64_t rss_start_bytes = -1;
  int64_t rss_end_bytes = -1;
  int64_t rss_peak_bytes = -1;
  int64_t appended_bytes = -1;

  double records_per_s() const { return seconds > 0 ? records / seconds : 0; }
  // Record bytes (not framing) per second, in 10^6 bytes.
  double mb_per_s(int64_t record_size) const { return records_per_s() * record_size / 1e6; }
};

// append and durable-append: options.threads threads append batches of options.batch_records
// records (thread t to partition t % partitions) for options.duration_s or until
// options.records are acknowledged, then System::FinishWrites(); all of it timed.
absl::StatusOr<RunResult> RunAppendWorkload(const BenchOptions& options, System* system,
                                            const std::string& label);

// read: loads options.ReadRecords() records as the append workload would (untimed), then
// System::PrepareScan() (untimed), then scans every partition (thread t takes partitions t,
// t + threads, ...), once with --records, repeatedly until options.duration_s with --duration.
// With options.cold the page cache is dropped before each scan, outside the timed phase.
absl::StatusOr<RunResult> RunReadWorkload(const BenchOptions& options, System* system,
                                          const std::string& label);

// Set from a SIGINT handler: running workloads stop at the next batch.
std::atomic<bool>& Interrupted();

// Syncs all file systems and drops the page cache (echo 3 > /proc/sys/vm/drop_caches).
// PermissionDenied, saying so, when not root.
absl::Status DropCaches();

// User + system CPU seconds used by this process so far.
double ProcessCpuSeconds();

// Free bytes on the file system holding `dir`; -1 if unknown.
int64_t FreeBytes(const std::string& dir);

}  // namespace varve::bench
