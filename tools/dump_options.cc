#include "tools/dump_options.h"

#include <algorithm>
#include <functional>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace varve::dump {

const char kDumpUsage[] =
    R"(Usage: varve-dump [OPTIONS] PATH...

Reads varve (Kafka-format) logs offline, never writing anything. Each PATH is a data directory
(one subdirectory per partition), a log directory (one partition), or a file: NNN.log,
NNN.index, NNN.timeindex, or a checkpoint file.

Modes (default: print one line per batch):
  --verify            check every batch (length, CRC, records, offsets dense and increasing
                      within and across segments), every index and checkpoint; print each
                      problem and a summary
  --digest            print an XXH3 digest of each log's batches in the range, to compare
                      replicas
  --groups            PATH is a broker's data directory: print its consumer groups, their
                      committed offsets, each partition's log end offset and the lag (reads
                      metadata.rocksdb read-only; works while the broker runs)

Dump options:
  --records           also print one line per record (offset, timestamp, key, value, headers);
                      compressed batches are decoded
  --full              with --records: print keys and values whole (default: first 128 bytes)
  --indexes           also print the segments' index entries, each checked against the log

Range (dump and digest; found through the indexes):
  --from-offset=N     start at the batch holding offset N
  --to-offset=N       stop after the batch holding offset N
  --from-time=T       start at the first record with a timestamp >= T
  --to-time=T         stop before the first record with a timestamp > T
                      T: milliseconds since the epoch, or ISO-8601 such as
                      2024-05-01T12:00:00Z, 2024-05-01T14:00:00.250+02:00, 2024-05-01 (UTC)

Other:
  --json              one JSON object per line (snake_case keys)
  --allow-gaps        offsets may skip (compacted logs); they must still increase
  --help              print this help

Exit status: 0 nothing wrong found, 1 corruption found, 2 usage error or unreadable path.
)";

namespace {

absl::Status Usage(absl::string_view why) { return absl::InvalidArgumentError(why); }

absl::StatusOr<int64_t> ParseOffsetArg(absl::string_view flag, absl::string_view text) {
  int64_t v;
  if (!absl::SimpleAtoi(text, &v) || v < 0) {
    return Usage(absl::StrCat(flag, " needs a non-negative offset, not \"", text, "\""));
  }
  return v;
}

}  // namespace

absl::StatusOr<int64_t> ParseTimeArg(absl::string_view text) {
  const absl::string_view digits = absl::StartsWith(text, "-") ? text.substr(1) : text;
  if (!digits.empty() && std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit)) {
    int64_t ms;
    if (absl::SimpleAtoi(text, &ms)) return ms;
    return Usage(absl::StrCat("timestamp out of range: \"", text, "\""));
  }
  // Formats without a zone are parsed as UTC.
  static constexpr const char* kFormats[] = {
      "%Y-%m-%d%ET%H:%M:%E*S%Ez",
      "%Y-%m-%d%ET%H:%M:%E*S",
      "%Y-%m-%d%ET%H:%M%Ez",
      "%Y-%m-%d%ET%H:%M",
      "%Y-%m-%d",
  };
  for (const char* format : kFormats) {
    absl::Time t;
    std::string error;
    if (absl::ParseTime(format, std::string(text), &t, &error)) return absl::ToUnixMillis(t);
  }
  return Usage(absl::StrCat("cannot read \"", text,
                            "\" as a time: give milliseconds since the epoch or ISO-8601 "
                            "such as 2024-05-01T12:00:00Z"));
}

absl::StatusOr<DumpOptions> ParseDumpArgs(absl::Span<const std::string> args) {
  DumpOptions o;
  using Setter = std::function<absl::Status(absl::string_view flag, absl::string_view value)>;
  auto offset = [](std::optional<int64_t>* dst) -> Setter {
    return [dst](absl::string_view flag, absl::string_view value) -> absl::Status {
      absl::StatusOr<int64_t> v = ParseOffsetArg(flag, value);
      if (!v.ok()) return v.status();
      *dst = *v;
      return absl::OkStatus();
    };
  };
  auto time = [](std::optional<int64_t>* dst) -> Setter {
    return [dst](absl::string_view flag, absl::string_view value) -> absl::Status {
      absl::StatusOr<int64_t> v = ParseTimeArg(value);
      if (!v.ok()) return Usage(absl::StrCat(flag, ": ", v.status().message()));
      *dst = *v;
      return absl::OkStatus();
    };
  };
  const std::map<std::string, bool*, std::less<>> switches = {
      {"--records", &o.records},
      {"--full", &o.full},
      {"--indexes", &o.indexes},
      {"--json", &o.json},
      {"--allow-gaps", &o.allow_gaps},
      {"--help", &o.help},
      {"-h", &o.help},
  };
  const std::map<std::string, Setter, std::less<>> valued = {
      {"--from-offset", offset(&o.from_offset)},
      {"--to-offset", offset(&o.to_offset)},
      {"--from-time", time(&o.from_time)},
      {"--to-time", time(&o.to_time)},
  };
  bool verify = false, digest = false, groups = false;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const absl::string_view arg = args[i];
    if (flags_done || !absl::StartsWith(arg, "-") || arg == "-") {
      o.paths.push_back(args[i]);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    if (name == "--verify" || name == "--digest" || name == "--groups") {
      if (eq != absl::string_view::npos) return Usage(absl::StrCat(name, " takes no value"));
      (name == "--verify" ? verify : name == "--digest" ? digest : groups) = true;
      continue;
    }
    if (auto it = switches.find(name); it != switches.end()) {
      if (eq != absl::string_view::npos) return Usage(absl::StrCat(name, " takes no value"));
      *it->second = true;
      continue;
    }
    auto it = valued.find(name);
    if (it == valued.end()) {
      return Usage(absl::StrCat("unknown flag ", name, " (see --help)"));
    }
    absl::string_view value;
    if (eq != absl::string_view::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Usage(absl::StrCat(name, " needs a value"));
    }
    if (absl::Status s = it->second(name, value); !s.ok()) return s;
  }
  if (o.help) return o;

  if (verify + digest + groups > 1) {
    return Usage("--verify, --digest and --groups cannot be combined");
  }
  if (groups) {
    o.mode = DumpMode::kGroups;
    if (o.records || o.indexes || o.full || o.allow_gaps || o.has_range()) {
      return Usage("--groups takes only --json and one data directory");
    }
    if (o.paths.size() != 1) return Usage("--groups needs exactly one data directory");
    return o;
  }
  o.mode = verify ? DumpMode::kVerify : digest ? DumpMode::kDigest : DumpMode::kDump;
  if (o.mode != DumpMode::kDump) {
    const char* mode = verify ? "--verify" : "--digest";
    if (o.records) return Usage(absl::StrCat("--records cannot be combined with ", mode));
    if (o.indexes) {
      return Usage(absl::StrCat("--indexes cannot be combined with ", mode,
                                verify ? " (which checks the indexes anyway)" : ""));
    }
  }
  if (o.full && !o.records) return Usage("--full only applies with --records");
  if (verify && o.has_range()) {
    return Usage("--verify checks whole logs; it cannot be combined with a range");
  }
  if (o.from_offset && o.to_offset && *o.from_offset > *o.to_offset) {
    return Usage("--from-offset is above --to-offset");
  }
  if (o.from_time && o.to_time && *o.from_time > *o.to_time) {
    return Usage("--from-time is after --to-time");
  }
  if (o.paths.empty()) return Usage("no paths given (see --help)");
  return o;
}

}  // namespace varve::dump
