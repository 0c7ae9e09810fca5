#include "bench/options.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace varve::bench {

const char* WorkloadName(Workload workload) {
  switch (workload) {
    case Workload::kAppend:
      return "append";
    case Workload::kRead:
      return "read";
    case Workload::kDurableAppend:
      return "durable-append";
    case Workload::kKafkaProduce:
      return "kafka-produce";
    case Workload::kKafkaConsume:
      return "kafka-consume";
  }
  return "unknown";
}

bool IsKafkaWorkload(Workload workload) {
  return workload == Workload::kKafkaProduce || workload == Workload::kKafkaConsume;
}

const char* SystemName(SystemKind system) {
  switch (system) {
    case SystemKind::kVarve:
      return "varve";
    case SystemKind::kPlainFile:
      return "plain-file";
    case SystemKind::kRocksDb:
      return "rocksdb";
    case SystemKind::kVarveBroker:
      return "varve-broker";
  }
  return "unknown";
}

const char* BenchUsage() {
  return R"(usage: varve-bench WORKLOAD --dir DIR [options]

Measures varve on the disk holding DIR against the baselines a user would pick instead: a plain
file writer/reader (length-prefixed, CRC32C-checked records through a 1 MiB buffer) and RocksDB
used as a log. Every system runs in the same invocation on the same directory.

workloads:
  append           append batches; acknowledged per --durability (default page_cache)
  durable-append   append batches acknowledged only once on disk (group_commit; the plain
                   writer fdatasyncs every 1 MiB, RocksDB writes with sync=true)
  read             load records, then scan them sequentially, verifying checksums
  kafka-produce    varve-broker in this process on 127.0.0.1, librdkafka producers
                   (--threads of them) sending --record-size values with --acks; no baseline
  kafka-consume    load --records (or 512 MiB) through kafka-produce (untimed), then consume
                   them all with a librdkafka consumer using assign(); no baseline

options:
  --dir DIR              directory on the disk under test (required; must exist)
  --record-size BYTES    bytes per record (default 1024)
  --batch-records N      records per append / WriteBatch (default 100)
  --threads N            appending or scanning threads (default 1)
  --partitions N         varve logs / plain files / RocksDB column families (default 1)
  --durability MODE      page_cache | group_commit | interval (default: page_cache, and
                         group_commit for durable-append, which accepts no other)
  --duration SECONDS     run each system this long (default 10); for read, scans repeat over a
                         512 MiB data set until the time is up
  --records N            or: write (read: load and scan) N records in total
  --keep                 leave the varve log in DIR for inspection
  --json FILE            write the configuration and every figure as JSON
  --plot FILE.png        draw throughput over time and the latency distribution (gnuplot)
  --cold                 read: drop the page cache before each scan (needs root)
  --repeat N             run the systems N times, interleaved (default 1); ratios use medians
  --systems LIST         comma-separated subset of varve,plain-file,rocksdb (default all)
  --io-backend KIND      varve's write path: auto | io_uring | pwritev (default auto)
  --acks 1|-1|0          kafka workloads: the producer's acks (default 1; -1 = durable)
  --help                 this text

exit status: 0 ok, 1 a run failed, 2 bad arguments.
)";
}

namespace {

absl::Status Bad(absl::string_view flag, absl::string_view value, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(flag, " ", value, ": ", why));
}

absl::StatusOr<int64_t> ParseInt(absl::string_view flag, absl::string_view value, int64_t min,
                                 int64_t max) {
  int64_t v;
  if (!absl::SimpleAtoi(value, &v)) return Bad(flag, value, "not an integer");
  if (v < min || v > max) {
    return Bad(flag, value, absl::StrCat("out of range [", min, ", ", max, "]"));
  }
  return v;
}

absl::StatusOr<Workload> ParseWorkload(absl::string_view name) {
  for (Workload w : {Workload::kAppend, Workload::kRead, Workload::kDurableAppend,
                     Workload::kKafkaProduce, Workload::kKafkaConsume}) {
    if (name == WorkloadName(w)) return w;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown workload \"", name,
                   "\"; expected one of: append, read, durable-append, kafka-produce, "
                   "kafka-consume"));
}

absl::StatusOr<std::vector<SystemKind>> ParseSystems(absl::string_view value) {
  std::vector<SystemKind> systems;
  for (absl::string_view name : absl::StrSplit(value, ',')) {
    std::optional<SystemKind> found;
    for (SystemKind s : {SystemKind::kVarve, SystemKind::kPlainFile, SystemKind::kRocksDb}) {
      if (name == SystemName(s)) found = s;
    }
    if (!found) {
      return Bad(
          "--systems", value,
          absl::StrCat("unknown system \"", name, "\"; expected varve, plain-file, rocksdb"));
    }
    if (std::find(systems.begin(), systems.end(), *found) != systems.end()) {
      return Bad("--systems", value, absl::StrCat("\"", name, "\" is listed twice"));
    }
    systems.push_back(*found);
  }
  return systems;
}

constexpr int64_t kMaxBatchBytes = 64LL << 20;

}  // namespace

int64_t BenchOptions::ReadRecords() const {
  return records.value_or(std::max<int64_t>(1, kDefaultReadBytes / record_size));
}

std::string BenchOptions::CommandLine() const {
  std::string s =
      absl::StrCat("varve-bench ", WorkloadName(workload), " --dir ", dir, " --record-size ",
                   record_size, " --batch-records ", batch_records, " --threads ", threads,
                   " --partitions ", partitions, " --durability ", DurabilityModeName(durability));
  if (records) {
    absl::StrAppend(&s, " --records ", *records);
  } else {
    absl::StrAppend(&s, " --duration ", duration_s.value_or(kDefaultDurationS));
  }
  if (keep) absl::StrAppend(&s, " --keep");
  if (cold) absl::StrAppend(&s, " --cold");
  if (repeat != 1) absl::StrAppend(&s, " --repeat ", repeat);
  if (IsKafkaWorkload(workload)) absl::StrAppend(&s, " --acks ", acks);
  if (systems.size() != 3 && !IsKafkaWorkload(workload)) {
    std::vector<std::string> names;
    for (SystemKind k : systems) names.push_back(SystemName(k));
    absl::StrAppend(&s, " --systems ", absl::StrJoin(names, ","));
  }
  if (io_backend != IoBackendKind::kAuto) {
    absl::StrAppend(&s, " --io-backend ", IoBackendKindName(io_backend));
  }
  if (!json_path.empty()) absl::StrAppend(&s, " --json ", json_path);
  if (!plot_path.empty()) absl::StrAppend(&s, " --plot ", plot_path);
  return s;
}

absl::StatusOr<BenchOptions> ParseBenchOptions(const std::vector<std::string>& args) {
  BenchOptions o;
  std::optional<Workload> workload;
  std::optional<DurabilityMode> durability;
  bool have_dir = false;
  bool have_acks = false;
  bool have_systems = false;
  // Flags that take a value, and what to do with it.
  using Setter = absl::Status (*)(BenchOptions&, absl::string_view);
  static const std::map<std::string, Setter, std::less<>> kValueFlags = {
      {"--dir",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         if (v.empty()) return Bad("--dir", "\"\"", "empty path");
         o.dir = std::string(v);
         return absl::OkStatus();
       }},
      {"--record-size",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         absl::StatusOr<int64_t> n = ParseInt("--record-size", v, 1, kMaxBatchBytes);
         if (n.ok()) o.record_size = *n;
         return n.status();
       }},
      {"--batch-records",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         absl::StatusOr<int64_t> n = ParseInt("--batch-records", v, 1, 1'000'000);
         if (n.ok()) o.batch_records = static_cast<int>(*n);
         return n.status();
       }},
      {"--threads",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         absl::StatusOr<int64_t> n = ParseInt("--threads", v, 1, 1024);
         if (n.ok()) o.threads = static_cast<int>(*n);
         return n.status();
       }},
      {"--partitions",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         absl::StatusOr<int64_t> n = ParseInt("--partitions", v, 1, 1024);
         if (n.ok()) o.partitions = static_cast<int>(*n);
         return n.status();
       }},
      {"--duration",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         double d;
         if (!absl::SimpleAtod(v, &d) || !std::isfinite(d)) {
           return Bad("--duration", v, "not a number of seconds");
         }
         if (d <= 0 || d > 86400) return Bad("--duration", v, "out of range (0, 86400]");
         o.duration_s = d;
         return absl::OkStatus();
       }},
      {"--records",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         absl::StatusOr<int64_t> n = ParseInt("--records", v, 1, int64_t{1} << 40);
         if (n.ok()) o.records = *n;
         return n.status();
       }},
      {"--json",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         if (v.empty()) return Bad("--json", "\"\"", "empty path");
         o.json_path = std::string(v);
         return absl::OkStatus();
       }},
      {"--plot",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         if (v.empty()) return Bad("--plot", "\"\"", "empty path");
         o.plot_path = std::string(v);
         return absl::OkStatus();
       }},
      {"--repeat",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         absl::StatusOr<int64_t> n = ParseInt("--repeat", v, 1, 100);
         if (n.ok()) o.repeat = static_cast<int>(*n);
         return n.status();
       }},
      {"--systems",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         absl::StatusOr<std::vector<SystemKind>> s = ParseSystems(v);
         if (s.ok()) o.systems = *s;
         return s.status();
       }},
      {"--io-backend",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         absl::StatusOr<IoBackendKind> k = ParseIoBackendKind(v);
         if (!k.ok()) return Bad("--io-backend", v, k.status().message());
         o.io_backend = *k;
         return absl::OkStatus();
       }},
      {"--acks",
       [](BenchOptions& o, absl::string_view v) -> absl::Status {
         int64_t n;
         if (!absl::SimpleAtoi(v, &n) || n < -1 || n > 1) {
           return Bad("--acks", v, "expected 1, -1 or 0");
         }
         o.acks = static_cast<int>(n);
         return absl::OkStatus();
       }},
  };

  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return o;
    }
    if (arg == "--keep" || arg == "--cold") {
      (arg == "--keep" ? o.keep : o.cold) = true;
      continue;
    }
    if (!absl::StartsWith(arg, "-")) {
      if (workload) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg,
                                                       "\" (the workload is already ",
                                                       WorkloadName(*workload), ")"));
      }
      absl::StatusOr<Workload> w = ParseWorkload(arg);
      if (!w.ok()) return w.status();
      workload = *w;
      continue;
    }
    // --flag VALUE or --flag=VALUE.
    absl::string_view name = arg;
    std::optional<absl::string_view> value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name == "--durability") {
      if (!value) {
        if (i + 1 == args.size()) return Bad(name, "", "needs a value");
        value = args[++i];
      }
      absl::StatusOr<DurabilityMode> mode = ParseDurabilityMode(*value);
      if (!mode.ok()) return Bad(name, *value, mode.status().message());
      durability = *mode;
      continue;
    }
    auto it = kValueFlags.find(name);
    if (it == kValueFlags.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name));
    }
    if (!value) {
      if (i + 1 == args.size()) return Bad(name, "", "needs a value");
      value = args[++i];
    }
    if (absl::Status s = it->second(o, *value); !s.ok()) return s;
    if (name == "--dir") have_dir = true;
    if (name == "--acks") have_acks = true;
    if (name == "--systems") have_systems = true;
  }

  if (!workload) {
    return absl::InvalidArgumentError(
        "missing WORKLOAD (append, read, durable-append, kafka-produce, kafka-consume)");
  }
  o.workload = *workload;
  if (!have_dir) return absl::InvalidArgumentError("missing --dir DIR (the disk under test)");
  if (o.duration_s && o.records) {
    return absl::InvalidArgumentError("--duration and --records are exclusive; give one");
  }
  if (o.record_size * o.batch_records > kMaxBatchBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--record-size ", o.record_size, " x --batch-records ", o.batch_records,
                     " makes batches above ", kMaxBatchBytes >> 20, " MiB"));
  }
  if (o.workload == Workload::kDurableAppend) {
    if (durability && *durability != DurabilityMode::kGroupCommit) {
      return Bad("--durability", DurabilityModeName(*durability),
                 "durable-append measures durable acknowledgements: only group_commit applies "
                 "(use the append workload for the other modes)");
    }
    o.durability = DurabilityMode::kGroupCommit;
  } else {
    o.durability = durability.value_or(DurabilityMode::kPageCache);
  }
  if (o.cold && o.workload != Workload::kRead) {
    return absl::InvalidArgumentError("--cold applies to the read workload only");
  }
  if (IsKafkaWorkload(o.workload)) {
    if (have_systems) {
      return absl::InvalidArgumentError(
          absl::StrCat("--systems does not apply to ", WorkloadName(o.workload),
                       ": the kafka workloads measure varve-broker alone (there is no baseline)"));
    }
    if (o.io_backend != IoBackendKind::kAuto) {
      return absl::InvalidArgumentError(
          absl::StrCat("--io-backend does not apply to ", WorkloadName(o.workload),
                       ": the broker opens its logs with the default backend"));
    }
    o.systems = {SystemKind::kVarveBroker};
  } else if (have_acks) {
    return absl::InvalidArgumentError(
        "--acks applies to the kafka workloads only (kafka-produce, kafka-consume)");
  }
  if (!o.records && !o.duration_s) o.duration_s = BenchOptions::kDefaultDurationS;
  return o;
}

}  // namespace varve::bench
