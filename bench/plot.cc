#include "bench/plot.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace varve::bench {
namespace {

std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Removes the scratch directory and its files.
struct ScratchDir {
  std::string path;
  std::vector<std::string> files;
  ~ScratchDir() {
    for (const std::string& f : files) std::remove(f.c_str());
    if (!path.empty()) rmdir(path.c_str());
  }
  std::string File(const std::string& name) {
    files.push_back(absl::StrCat(path, "/", name));
    return files.back();
  }
};

}  // namespace

std::string GnuplotQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

absl::Status CheckGnuplot() {
  if (!FindOnPath("gnuplot").empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "--plot needs gnuplot, which is not on PATH; install it (Debian: apt-get install "
      "gnuplot-nox) or drop --plot");
}

absl::Status WritePlot(const Report& report, const std::string& png_path) {
  const std::string gnuplot = FindOnPath("gnuplot");
  if (gnuplot.empty()) return CheckGnuplot();
  const BenchOptions& o = report.options;
  const bool latency = o.workload != Workload::kRead && o.workload != Workload::kKafkaConsume;

  ScratchDir scratch;
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/varve-bench-plot.XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", templ, " failed"));
  }
  scratch.path = templ;

  std::vector<std::string> throughput, cdf;
  for (size_t i = 0; i < report.results.size(); ++i) {
    const RunResult& r = report.results[i];
    const std::string title =
        GnuplotQuote(o.repeat > 1 ? absl::StrCat(SystemName(r.system), " #", r.run)
                                  : std::string(SystemName(r.system)));
    std::string data;
    for (const TimelinePoint& p : r.timeline) {
      absl::StrAppend(&data,
                      absl::StrFormat("%.3f %.3f\n", p.t_s, p.records_per_s * o.record_size / 1e6));
    }
    if (data.empty()) data = "0 0\n";
    const std::string tl = scratch.File(absl::StrCat("throughput-", i, ".dat"));
    if (absl::Status s = WriteText(tl, data); !s.ok()) return s;
    throughput.push_back(
        absl::StrCat(GnuplotQuote(tl), " using 1:2 with lines lw 2 title ", title));
    if (!latency || r.latency.count() == 0) continue;
    data.clear();
    int64_t seen = 0;
    for (const auto& [high_ns, count] : r.latency.Buckets()) {
      seen += count;
      absl::StrAppend(&data, absl::StrFormat("%.3f %.6f\n", std::max(high_ns, int64_t{1}) / 1e3,
                                             static_cast<double>(seen) / r.latency.count()));
    }
    const std::string lat = scratch.File(absl::StrCat("latency-", i, ".dat"));
    if (absl::Status s = WriteText(lat, data); !s.ok()) return s;
    cdf.push_back(absl::StrCat(GnuplotQuote(lat), " using 1:2 with steps lw 2 title ", title));
  }

  const bool two = !cdf.empty();
  std::string script =
      absl::StrFormat("set terminal pngcairo noenhanced size 1200,%d font ',10'\nset output %s\n",
                      two ? 900 : 500, GnuplotQuote(png_path));
  const std::string heading = absl::StrFormat(
      "varve-bench %s: %d-byte records, %d per batch, %d thread(s), %d partition(s), %s",
      WorkloadName(o.workload), o.record_size, o.batch_records, o.threads, o.partitions,
      DurabilityModeName(o.durability));
  absl::StrAppend(&script, "set multiplot layout ", two ? 2 : 1, ",1 title ", GnuplotQuote(heading),
                  "\n");
  absl::StrAppend(&script,
                  "set grid\nset key outside right\n"
                  "set title 'Throughput over time (100 ms samples)'\n"
                  "set xlabel 'seconds'\nset ylabel 'MB/s'\nset yrange [0:*]\n",
                  "plot ", absl::StrJoin(throughput, ", \\\n     "), "\n");
  if (two) {
    absl::StrAppend(&script,
                    "set title 'Acknowledgement latency (CDF)'\nset logscale x\n"
                    "set xlabel 'latency (microseconds)'\nset ylabel 'fraction of acks'\n"
                    "set yrange [0:1]\n",
                    "plot ", absl::StrJoin(cdf, ", \\\n     "), "\n");
  }
  absl::StrAppend(&script, "unset multiplot\n");
  const std::string script_path = scratch.File("plot.gp");
  if (absl::Status s = WriteText(script_path, script); !s.ok()) return s;

  std::vector<char*> argv = {const_cast<char*>(gnuplot.c_str()),
                             const_cast<char*>(script_path.c_str()), nullptr};
  pid_t pid;
  if (int err = posix_spawn(&pid, gnuplot.c_str(), nullptr, nullptr, argv.data(), environ);
      err != 0) {
    return absl::InternalError(absl::StrCat("cannot run ", gnuplot, ": ", strerror(err)));
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("gnuplot failed drawing ", png_path, " (its messages are above)"));
  }
  return absl::OkStatus();
}

}  // namespace varve::bench
