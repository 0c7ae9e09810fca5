// varve-bench: how close varve gets to the disk under test, against the baselines a user would
// pick instead (docs/benchmarks.md). Usage: bench/options.cc (BenchUsage), or --help.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/kafka_workload.h"
#include "bench/options.h"
#include "bench/plot.h"
#include "bench/report.h"
#include "bench/system.h"
#include "bench/workload.h"

namespace varve::bench {
namespace {

void OnInterrupt(int) {
  Interrupted().store(true);
  signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

void RemoveTree(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Opens `kind` in a fresh `dir`, runs the workload, closes it.
absl::StatusOr<RunResult> RunOnce(const BenchOptions& options, SystemKind kind,
                                  const std::string& dir, const std::string& label) {
  RemoveTree(dir);
  if (mkdir(dir.c_str(), 0755) != 0) {
    return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", strerror(errno)));
  }
  if (IsKafkaWorkload(options.workload)) return RunKafkaWorkload(options, dir, label);
  SystemConfig config;
  config.dir = dir;
  config.partitions = options.partitions;
  config.record_size = options.record_size;
  config.batch_records = options.batch_records;
  config.durability = options.durability;
  config.io_backend = options.io_backend;
  absl::StatusOr<std::unique_ptr<System>> system = OpenSystem(kind, config);
  if (!system.ok()) return system.status();
  absl::StatusOr<RunResult> result = options.workload == Workload::kRead
                                         ? RunReadWorkload(options, system->get(), label)
                                         : RunAppendWorkload(options, system->get(), label);
  if (result.ok()) result->describe = (*system)->Describe();
  absl::Status closed = (*system)->Close();
  if (!result.ok()) return result.status();
  if (!closed.ok()) return closed;
  return result;
}

int Main(int argc, char** argv) {
  absl::StatusOr<BenchOptions> parsed =
      ParseBenchOptions(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    std::fprintf(stderr, "varve-bench: %s\n\n%s", std::string(parsed.status().message()).c_str(),
                 BenchUsage());
    return 2;
  }
  if (parsed->help) {
    std::printf("%s", BenchUsage());
    return 0;
  }
  const BenchOptions& options = *parsed;
  struct stat st;
  if (stat(options.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "varve-bench: --dir %s: not an existing directory\n", options.dir.c_str());
    return 2;
  }
  if (!options.plot_path.empty()) {
    if (absl::Status s = CheckGnuplot(); !s.ok()) {
      std::fprintf(stderr, "varve-bench: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  if (options.cold && access("/proc/sys/vm/drop_caches", W_OK) != 0) {
    std::fprintf(stderr,
                 "varve-bench: --cold drops the page cache through /proc/sys/vm/drop_caches, "
                 "which this user cannot write (run as root, or read warm)\n");
    return 1;
  }
  signal(SIGINT, OnInterrupt);

  const std::string run_dir = absl::StrCat(options.dir, "/varve-bench.", getpid());
  RemoveTree(run_dir);
  if (mkdir(run_dir.c_str(), 0755) != 0) {
    std::fprintf(stderr, "varve-bench: mkdir %s: %s\n", run_dir.c_str(), strerror(errno));
    return 1;
  }
  Report report{options, CollectHostInfo(options.dir), {}};
  std::fprintf(stderr, "%s\n", options.CommandLine().c_str());
  const int total = options.repeat * static_cast<int>(options.systems.size());
  int step = 0;
  absl::Status failed;
  for (int run = 1; run <= options.repeat && failed.ok() && !Interrupted(); ++run) {
    for (SystemKind kind : options.systems) {
      if (Interrupted()) break;
      const std::string label = absl::StrFormat("[%d/%d] %s %s", ++step, total, SystemName(kind),
                                                WorkloadName(options.workload));
      const std::string dir = absl::StrCat(run_dir, "/", SystemName(kind));
      absl::StatusOr<RunResult> result = RunOnce(options, kind, dir, label);
      const bool kept = kind == SystemKind::kVarve || kind == SystemKind::kVarveBroker;
      if (!(kept && options.keep)) RemoveTree(dir);
      if (!result.ok()) {
        failed = absl::Status(result.status().code(),
                              absl::StrCat(SystemName(kind), ": ", result.status().message()));
        break;
      }
      result->run = run;
      std::fprintf(stderr, "%-28s %13.0f records/s %9.1f MB/s  (%.2f s)\n", label.c_str(),
                   result->records_per_s(), result->mb_per_s(options.record_size), result->seconds);
      report.results.push_back(std::move(*result));
      // Whatever the run left dirty is written back now, not during the next system's run, and
      // the memory it freed settles (this VM returns free memory to its host, which makes the
      // next run's fresh page cache slower: docs/benchmarks.md).
      sync();
      std::this_thread::sleep_for(
          std::chrono::duration<double>(std::min(2.0, report.results.back().seconds)));
    }
  }
  SampleLoadEnd(&report.host);
  if (options.keep) {
    std::fprintf(stderr, "kept the varve log in %s/%s\n", run_dir.c_str(),
                 IsKafkaWorkload(options.workload) ? "varve-broker" : "varve");
  } else {
    RemoveTree(run_dir);
  }
  if (!failed.ok()) {
    std::fprintf(stderr, "varve-bench: %s\n", std::string(failed.message()).c_str());
    return 1;
  }
  std::printf("%s", FormatText(report).c_str());
  std::fflush(stdout);
  if (!options.json_path.empty()) {
    if (absl::Status s = WriteFile(options.json_path, FormatJson(report)); !s.ok()) {
      std::fprintf(stderr, "varve-bench: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  if (!options.plot_path.empty()) {
    if (absl::Status s = WritePlot(report, options.plot_path); !s.ok()) {
      std::fprintf(stderr, "varve-bench: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  return Interrupted() ? 130 : 0;
}

}  // namespace
}  // namespace varve::bench

int main(int argc, char** argv) { return varve::bench::Main(argc, argv); }
