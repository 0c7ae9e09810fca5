#pragma once

// Report: every figure of one varve-bench invocation, and its three renderings — the text
// table on stdout, the JSON file (--json) and, in bench/plot.h, the PNG (--plot).
//
// Example:
//   Report report{options, CollectHostInfo(options.dir)};
//   report.results.push_back(std::move(run));
//   std::printf("%s", FormatText(report).c_str());
//   RETURN_IF_ERROR(WriteFile(path, FormatJson(report)));
//
// JSON shape (docs/benchmarks.md): {"config": {...}, "results": [{"system", "workload", "run",
// "records", "seconds", "records_per_s", "mb_per_s", and for write workloads "acks", "p50_us",
// "p99_us", "p999_us", "max_us", "mean_us", ...}, ...], "summary": [...], "ratios": {...}}.
// Summaries are medians over the runs of a system (--repeat); latency percentiles in a summary
// are over every acknowledgement of every run. Ratios are varve's median records/s over each
// baseline's.

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "bench/histogram.h"
#include "bench/options.h"
#include "bench/workload.h"

namespace varve::bench {

struct HostInfo {
  int cpus = 0;
  std::string kernel;      // uname -r
  std::string filesystem;  // of --dir: ext4, xfs, tmpfs, ...
  int64_t free_bytes = -1;
  std::array<double, 3> load_start{};  // load averages when the run started and ended
  std::array<double, 3> load_end{};
  std::string started_at;  // UTC, ISO 8601
};

// Facts about this machine and the file system holding `dir`; load_start is sampled now.
HostInfo CollectHostInfo(const std::string& dir);
// Samples the load averages again, into host->load_end.
void SampleLoadEnd(HostInfo* host);

struct Report {
  BenchOptions options;
  HostInfo host;
  std::vector<RunResult> results;
};

struct SystemSummary {
  SystemKind system;
  int runs = 0;
  double records_per_s = 0;  // median over runs
  double mb_per_s = 0;
  double cpu_us_per_record = 0;  // median over runs
  LatencyHistogram latency;      // every run merged
};
std::vector<SystemSummary> Summarize(const Report& report);

// varve's median records/s over the baseline's; nullopt unless both ran.
std::optional<double> RatioToVarve(const std::vector<SystemSummary>& summaries,
                                   SystemKind baseline);

std::string FormatText(const Report& report);
std::string FormatJson(const Report& report);

}  // namespace varve::bench
