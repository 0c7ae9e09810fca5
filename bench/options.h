#pragma once

// The command line of varve-bench, parsed into BenchOptions. Parsing is pure (no file system,
// no environment) so that every rule is unit-tested; main() adds the checks that need the
// machine (the directory exists, gnuplot is installed).
//
// Example:
//   absl::StatusOr<BenchOptions> options = ParseBenchOptions(args);
//   if (!options.ok()) { Print(options.status().message(), BenchUsage()); return 2; }
//
// Errors: InvalidArgument naming the flag and the value (unknown workload or flag, missing
// value, a number out of range, conflicting flags). main() turns them into exit status 2.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "log/durability.h"

namespace varve::bench {

enum class Workload {
  kAppend,         // appends as fast as acknowledgements allow (default durability page_cache)
  kRead,           // loads records, then scans them sequentially verifying checksums
  kDurableAppend,  // appends acknowledged only once on disk (group_commit)
  // varve-broker driven by librdkafka over 127.0.0.1, both in this process
  // (bench/kafka_workload.h): produce with --acks, or load then consume with assign().
  kKafkaProduce,
  kKafkaConsume,
};
// "append", "read", "durable-append", "kafka-produce", "kafka-consume"
const char* WorkloadName(Workload workload);
// kafka-produce and kafka-consume: they measure the broker alone, with no baseline.
bool IsKafkaWorkload(Workload workload);

// The systems measured in one run, in the order they run.
// kVarveBroker is the only system of the kafka workloads (never named in --systems).
enum class SystemKind { kVarve, kPlainFile, kRocksDb, kVarveBroker };
// "varve", "plain-file", "rocksdb", "varve-broker"
const char* SystemName(SystemKind system);

struct BenchOptions {
  bool help = false;  // --help: print BenchUsage() and exit 0; nothing else is checked
  Workload workload = Workload::kAppend;
  std::string dir;             // --dir: the disk under test (required)
  int64_t record_size = 1024;  // --record-size: bytes of each record's value
  int batch_records = 100;     // --batch-records: records per append (and per WriteBatch)
  int threads = 1;             // --threads: appending or scanning threads
  int partitions = 1;          // --partitions: logs, files, column families
  DurabilityMode durability = DurabilityMode::kPageCache;  // --durability
  // Exactly one of the two bounds a run; with neither, duration_s = kDefaultDurationS.
  std::optional<double> duration_s;  // --duration
  std::optional<int64_t> records;    // --records: in total, over all threads
  bool keep = false;                 // --keep: leave the varve log in the directory
  std::string json_path;             // --json
  std::string plot_path;             // --plot
  bool cold = false;                 // --cold: drop the page cache before each scan (root)
  int repeat = 1;                    // --repeat: runs of each system, interleaved
  std::vector<SystemKind> systems = {SystemKind::kVarve, SystemKind::kPlainFile,
                                     SystemKind::kRocksDb};  // --systems
  IoBackendKind io_backend = IoBackendKind::kAuto;           // --io-backend (varve)
  int acks = 1;  // --acks 1|-1|0: the kafka workloads' producer acks (kafka-consume's load too)

  static constexpr double kDefaultDurationS = 10;
  // The data set a timed `read` loads when only --duration bounds the run: the scan repeats
  // over it until the duration is up.
  static constexpr int64_t kDefaultReadBytes = 512LL << 20;

  // Records the read workload loads per system.
  int64_t ReadRecords() const;
  // The configuration as a command line that reproduces it (flags in canonical order).
  std::string CommandLine() const;
};

// Parses argv[1..] (the program name excluded).
absl::StatusOr<BenchOptions> ParseBenchOptions(const std::vector<std::string>& args);

// The usage text printed with --help and after a bad argument.
const char* BenchUsage();

}  // namespace varve::bench
