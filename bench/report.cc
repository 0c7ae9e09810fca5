#include "bench/report.h"

#include <sys/statfs.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace varve::bench {
namespace {

std::string FileSystemName(int64_t magic) {
  switch (magic) {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794C7630:
      return "overlayfs";
    case 0x2FC12FC1:
      return "zfs";
    default:
      return absl::StrFormat("0x%x", magic);
  }
}

std::array<double, 3> LoadAverages() {
  std::array<double, 3> load{};
  if (getloadavg(load.data(), 3) != 3) load = {-1, -1, -1};
  return load;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bool IsWrite(Workload w) {
  return w == Workload::kAppend || w == Workload::kDurableAppend || w == Workload::kKafkaProduce;
}

// Loads, then reads what it loaded: passes and the load's figures are reported.
bool IsScan(Workload w) { return w == Workload::kRead || w == Workload::kKafkaConsume; }

constexpr char kNoBaseline[] =
    "no baseline: the kafka workloads measure varve-broker alone (broker and librdkafka client "
    "in this process, over 127.0.0.1)";

// The kafka workloads: the process's RSS growth per 10^9 record bytes appended.
std::optional<double> RssGrowthPerGb(const RunResult& r) {
  if (r.rss_start_bytes < 0 || r.rss_end_bytes < 0 || r.appended_bytes <= 0) return std::nullopt;
  return (r.rss_end_bytes - r.rss_start_bytes) / (r.appended_bytes / 1e9);
}

std::string RssNote(const RunResult& r) {
  if (r.rss_start_bytes < 0 || r.rss_end_bytes < 0) return "";
  std::string note =
      absl::StrFormat("RSS %.0f -> %.0f MiB (peak %.0f MiB)", r.rss_start_bytes / 1048576.0,
                      r.rss_end_bytes / 1048576.0, r.rss_peak_bytes / 1048576.0);
  if (std::optional<double> g = RssGrowthPerGb(r)) {
    absl::StrAppend(&note, absl::StrFormat(", %+.1f MiB per GB appended (%.2f GB)", *g / 1048576.0,
                                           r.appended_bytes / 1e9));
  }
  return note;
}

double Us(int64_t ns) { return ns / 1000.0; }

double CpuUsPerRecord(const RunResult& r) {
  return r.records > 0 ? r.cpu_seconds * 1e6 / r.records : 0;
}

// A minimal JSON emitter: commas and escaping, nothing else.
class Json {
 public:
  Json& Open(char bracket) {
    Comma();
    out_ += bracket;
    first_ = true;
    return *this;
  }
  Json& Close(char bracket) {
    out_ += bracket;
    first_ = false;
    return *this;
  }
  Json& Key(absl::string_view key) {
    Comma();
    String(key);
    out_ += ':';
    first_ = true;  // the value that follows takes no comma
    return *this;
  }
  Json& Str(absl::string_view s) {
    Comma();
    String(s);
    return *this;
  }
  Json& Int(int64_t v) {
    Comma();
    absl::StrAppend(&out_, v);
    return *this;
  }
  Json& Num(double v) {
    Comma();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
      absl::StrAppend(&out_, absl::StrFormat("%.0f", v));
    } else if (std::isfinite(v)) {
      // Significant digits, not fixed decimals: a sub-millisecond scan is not "0.000" seconds.
      absl::StrAppend(&out_, absl::StrFormat("%.9g", v));
    } else {
      out_ += "null";
    }
    return *this;
  }
  Json& Bool(bool v) {
    Comma();
    out_ += v ? "true" : "false";
    return *this;
  }
  Json& Null() {
    Comma();
    out_ += "null";
    return *this;
  }
  std::string Take() { return std::move(out_) + "\n"; }

 private:
  void Comma() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void String(absl::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          if (c < 0x20) {
            absl::StrAppend(&out_, absl::StrFormat("\\u%04x", c));
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  bool first_ = true;
};

void LatencyFields(Json& j, const LatencyHistogram& h) {
  j.Key("acks").Int(h.count());
  j.Key("p50_us").Num(Us(h.Percentile(50)));
  j.Key("p99_us").Num(Us(h.Percentile(99)));
  j.Key("p999_us").Num(Us(h.Percentile(99.9)));
  j.Key("max_us").Num(Us(h.max()));
  j.Key("mean_us").Num(h.mean() / 1000);
}

std::string CacheState(const BenchOptions& o) {
  if (!IsScan(o.workload)) return "n/a";
  return o.cold ? "cold (page cache dropped before each scan)" : "warm";
}

double CpuOf(const std::vector<SystemSummary>& summaries, SystemKind kind) {
  for (const SystemSummary& s : summaries) {
    if (s.system == kind) return s.cpu_us_per_record;
  }
  return 0;
}

}  // namespace

HostInfo CollectHostInfo(const std::string& dir) {
  HostInfo host;
  host.cpus = static_cast<int>(std::thread::hardware_concurrency());
  utsname u;
  if (uname(&u) == 0) host.kernel = absl::StrCat(u.sysname, " ", u.release);
  struct statfs fs;
  if (statfs(dir.c_str(), &fs) == 0) {
    host.filesystem = FileSystemName(static_cast<int64_t>(fs.f_type));
    host.free_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_bsize);
  }
  host.load_start = LoadAverages();
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::tm tm;
  gmtime_r(&now, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  host.started_at = buf;
  return host;
}

void SampleLoadEnd(HostInfo* host) { host->load_end = LoadAverages(); }

std::vector<SystemSummary> Summarize(const Report& report) {
  std::vector<SystemSummary> out;
  for (SystemKind kind : report.options.systems) {
    SystemSummary s;
    s.system = kind;
    std::vector<double> rates, cpu;
    for (const RunResult& r : report.results) {
      if (r.system != kind) continue;
      ++s.runs;
      rates.push_back(r.records_per_s());
      cpu.push_back(CpuUsPerRecord(r));
      s.latency.Merge(r.latency);
    }
    if (s.runs == 0) continue;
    s.records_per_s = Median(rates);
    s.cpu_us_per_record = Median(cpu);
    s.mb_per_s = s.records_per_s * report.options.record_size / 1e6;
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> RatioToVarve(const std::vector<SystemSummary>& summaries,
                                   SystemKind baseline) {
  const SystemSummary* varve = nullptr;
  const SystemSummary* base = nullptr;
  for (const SystemSummary& s : summaries) {
    if (s.system == SystemKind::kVarve) varve = &s;
    if (s.system == baseline) base = &s;
  }
  if (!varve || !base || base->records_per_s <= 0) return std::nullopt;
  return varve->records_per_s / base->records_per_s;
}

std::string FormatText(const Report& report) {
  const BenchOptions& o = report.options;
  const HostInfo& h = report.host;
  std::string out =
      IsKafkaWorkload(o.workload)
          ? absl::StrFormat(
                "varve-bench %s: %d-byte messages, %d librdkafka producer(s), %d partition(s), "
                "acks %d, topic durability %s, ",
                WorkloadName(o.workload), o.record_size, o.threads, o.partitions, o.acks,
                DurabilityModeName(o.durability))
          : absl::StrFormat(
                "varve-bench %s: %d-byte records, %d per batch, %d thread(s), %d partition(s), "
                "durability %s, ",
                WorkloadName(o.workload), o.record_size, o.batch_records, o.threads, o.partitions,
                DurabilityModeName(o.durability));
  if (IsScan(o.workload)) {
    absl::StrAppend(
        &out, o.ReadRecords(), " records loaded per system, ",
        o.records ? "one scan" : absl::StrCat("scans repeated for ", *o.duration_s, " s"), ", ",
        CacheState(o), " cache\n");
  } else if (o.records) {
    absl::StrAppend(&out, *o.records, " records per system\n");
  } else {
    absl::StrAppend(&out, *o.duration_s, " s per system\n");
  }
  absl::StrAppend(
      &out, absl::StrFormat("dir %s (%s, %.1f GiB free at start); %d CPUs; %s; load average "
                            "%.2f %.2f %.2f at start, %.2f %.2f %.2f at end\n",
                            o.dir, h.filesystem, h.free_bytes / double(1LL << 30), h.cpus, h.kernel,
                            h.load_start[0], h.load_start[1], h.load_start[2], h.load_end[0],
                            h.load_end[1], h.load_end[2]));
  const bool latency = IsWrite(o.workload);
  absl::StrAppend(&out, absl::StrFormat("\n%-11s %3s %13s %8s %13s %9s %8s", "system", "run",
                                        "records", "seconds", "records/s", "MB/s", "CPU s"));
  if (latency) {
    absl::StrAppend(&out, absl::StrFormat(" %9s %9s %9s", "p50 us", "p99 us", "p99.9 us"));
  }
  absl::StrAppend(&out, "  notes\n");
  for (const RunResult& r : report.results) {
    absl::StrAppend(&out,
                    absl::StrFormat("%-11s %3d %13d %8.2f %13.0f %9.1f %8.2f", SystemName(r.system),
                                    r.run, r.records, r.seconds, r.records_per_s(),
                                    r.mb_per_s(o.record_size), r.cpu_seconds));
    if (latency) {
      absl::StrAppend(
          &out, absl::StrFormat(" %9.1f %9.1f %9.1f", Us(r.latency.Percentile(50)),
                                Us(r.latency.Percentile(99)), Us(r.latency.Percentile(99.9))));
    }
    std::vector<std::string> notes;
    if (!r.describe.empty()) notes.push_back(r.describe);
    if (IsScan(o.workload)) {
      notes.push_back(absl::StrFormat("%d pass(es); load %.1f s", r.passes, r.load_seconds));
    }
    if (std::string rss = RssNote(r); !rss.empty()) notes.push_back(rss);
    if (!r.note.empty()) notes.push_back(r.note);
    absl::StrAppend(&out, "  ", absl::StrJoin(notes, "; "), "\n");
  }
  const std::vector<SystemSummary> summaries = Summarize(report);
  if (o.repeat > 1) {
    absl::StrAppend(&out, "\nmedians over ", o.repeat, " runs (latency over all runs):\n");
    for (const SystemSummary& s : summaries) {
      absl::StrAppend(
          &out, absl::StrFormat("%-11s %3s %13s %8s %13.0f %9.1f %8s", SystemName(s.system), "all",
                                "", "", s.records_per_s, s.mb_per_s, ""));
      if (latency) {
        absl::StrAppend(
            &out, absl::StrFormat(" %9.1f %9.1f %9.1f", Us(s.latency.Percentile(50)),
                                  Us(s.latency.Percentile(99)), Us(s.latency.Percentile(99.9))));
      }
      absl::StrAppend(&out, "\n");
    }
  }
  if (IsKafkaWorkload(o.workload)) absl::StrAppend(&out, "\n", kNoBaseline, "\n");
  bool header = false;
  for (SystemKind baseline : {SystemKind::kPlainFile, SystemKind::kRocksDb}) {
    std::optional<double> ratio = RatioToVarve(summaries, baseline);
    if (!ratio) continue;
    if (!header) absl::StrAppend(&out, "\n");
    header = true;
    absl::StrAppend(
        &out, absl::StrFormat("varve / %-10s %6.2fx records/s (and MB/s); CPU per record %.2f us "
                              "vs %.2f us\n",
                              SystemName(baseline), *ratio, CpuOf(summaries, SystemKind::kVarve),
                              CpuOf(summaries, baseline)));
  }
  return out;
}

std::string FormatJson(const Report& report) {
  const BenchOptions& o = report.options;
  const HostInfo& h = report.host;
  const bool latency = IsWrite(o.workload);
  Json j;
  j.Open('{');
  j.Key("config").Open('{');
  j.Key("workload").Str(WorkloadName(o.workload));
  j.Key("dir").Str(o.dir);
  j.Key("record_size").Int(o.record_size);
  j.Key("batch_records").Int(o.batch_records);
  j.Key("threads").Int(o.threads);
  j.Key("partitions").Int(o.partitions);
  j.Key("durability").Str(DurabilityModeName(o.durability));
  j.Key("duration_s");
  if (o.duration_s) {
    j.Num(*o.duration_s);
  } else {
    j.Null();
  }
  j.Key("records");
  if (o.records) {
    j.Int(*o.records);
  } else {
    j.Null();
  }
  if (IsScan(o.workload)) j.Key("read_records").Int(o.ReadRecords());
  if (IsKafkaWorkload(o.workload)) {
    j.Key("kafka_acks").Int(o.acks);
    j.Key("baseline").Str(kNoBaseline);
  }
  j.Key("keep").Bool(o.keep);
  j.Key("cold").Bool(o.cold);
  j.Key("cache").Str(CacheState(o));
  j.Key("repeat").Int(o.repeat);
  j.Key("io_backend").Str(IoBackendKindName(o.io_backend));
  j.Key("systems").Open('[');
  for (SystemKind s : o.systems) j.Str(SystemName(s));
  j.Close(']');
  j.Key("command").Str(o.CommandLine());
  j.Key("host").Open('{');
  j.Key("cpus").Int(h.cpus);
  j.Key("kernel").Str(h.kernel);
  j.Key("filesystem").Str(h.filesystem);
  j.Key("free_bytes").Int(h.free_bytes);
  j.Key("load_average_start").Open('[');
  for (double l : h.load_start) j.Num(l);
  j.Close(']');
  j.Key("load_average_end").Open('[');
  for (double l : h.load_end) j.Num(l);
  j.Close(']');
  j.Key("started_at").Str(h.started_at);
  j.Close('}');
  j.Close('}');

  j.Key("results").Open('[');
  for (const RunResult& r : report.results) {
    j.Open('{');
    j.Key("system").Str(SystemName(r.system));
    j.Key("workload").Str(WorkloadName(o.workload));
    j.Key("run").Int(r.run);
    j.Key("records").Int(r.records);
    j.Key("bytes").Int(r.records * o.record_size);
    j.Key("seconds").Num(r.seconds);
    j.Key("records_per_s").Num(r.records_per_s());
    j.Key("mb_per_s").Num(r.mb_per_s(o.record_size));
    j.Key("cpu_seconds").Num(r.cpu_seconds);
    j.Key("cpu_us_per_record").Num(CpuUsPerRecord(r));
    if (latency) LatencyFields(j, r.latency);
    if (IsScan(o.workload)) {
      j.Key("passes").Int(r.passes);
      j.Key("loaded_records").Int(r.loaded_records);
      j.Key("load_seconds").Num(r.load_seconds);
    }
    if (r.rss_start_bytes >= 0) {
      j.Key("rss_start_bytes").Int(r.rss_start_bytes);
      j.Key("rss_end_bytes").Int(r.rss_end_bytes);
      j.Key("rss_peak_bytes").Int(r.rss_peak_bytes);
      j.Key("appended_bytes").Int(r.appended_bytes);
      j.Key("rss_growth_bytes_per_gb");
      if (std::optional<double> g = RssGrowthPerGb(r)) {
        j.Num(*g);
      } else {
        j.Null();
      }
    }
    j.Key("describe").Str(r.describe);
    j.Key("note").Str(r.note);
    j.Key("timeline").Open('[');
    for (const TimelinePoint& p : r.timeline) {
      j.Open('[').Num(p.t_s).Num(p.records_per_s).Close(']');
    }
    j.Close(']');
    j.Close('}');
  }
  j.Close(']');

  const std::vector<SystemSummary> summaries = Summarize(report);
  j.Key("summary").Open('[');
  for (const SystemSummary& s : summaries) {
    j.Open('{');
    j.Key("system").Str(SystemName(s.system));
    j.Key("runs").Int(s.runs);
    j.Key("records_per_s").Num(s.records_per_s);
    j.Key("mb_per_s").Num(s.mb_per_s);
    j.Key("cpu_us_per_record").Num(s.cpu_us_per_record);
    if (latency) LatencyFields(j, s.latency);
    j.Close('}');
  }
  j.Close(']');
  j.Key("ratios").Open('{');
  for (SystemKind baseline : {SystemKind::kPlainFile, SystemKind::kRocksDb}) {
    if (std::optional<double> ratio = RatioToVarve(summaries, baseline)) {
      j.Key(absl::StrCat("varve/", SystemName(baseline))).Num(*ratio);
    }
  }
  j.Close('}');
  j.Close('}');
  return j.Take();
}

}  // namespace varve::bench
