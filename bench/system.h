#pragma once

// System: one thing varve-bench measures — varve itself or a baseline a user would pick instead
// (bench/plain_file_system.h, bench/rocksdb_system.h) — behind the few operations the workloads
// need: append batches from many threads, finish, scan with checksum verification.
//
// Example (what the workloads do):
//   ASSIGN_OR_RETURN(std::unique_ptr<System> system, OpenSystem(SystemKind::kVarve, config));
//   ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, system->NewWriter(/*partition=*/0));
//   RETURN_IF_ERROR(writer->Append(records));  // returns once acknowledged
//   writer.reset();
//   RETURN_IF_ERROR(system->FinishWrites());
//   ASSIGN_OR_RETURN(int64_t seen, system->Scan(0, &progress));
//   RETURN_IF_ERROR(system->Close());
//
// Concurrency: NewWriter is called from one thread before any append. Each Writer is used by one
// thread; writers of the same partition append concurrently, and the system serializes them as
// it would in production (varve's append lock, the plain writer's mutex, RocksDB's write
// queue). Scans of different partitions run concurrently. Every writer is destroyed before
// FinishWrites.
//
// What is "acknowledged" follows SystemConfig::durability for every system (docs/benchmarks.md):
//   page_cache    varve kPageCache; the plain writer's data has reached its buffer; RocksDB
//                 Write with sync=false (WAL on).
//   group_commit  varve kGroupCommit; the plain writer's fdatasync covering the batch has
//                 completed (it syncs once per 1 MiB written, or sooner when every writer of the
//                 file is waiting); RocksDB Write with sync=true.
//   interval      varve kInterval (fdatasync per 1 MiB, in the background); the plain writer
//                 fdatasyncs after each 1 MiB it writes, without making appenders wait; RocksDB
//                 with sync=false and SyncWAL() after each 1 MiB.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "bench/options.h"
#include "log/durability.h"

namespace varve::bench {

struct SystemConfig {
  std::string dir;  // the system's own directory, existing and empty
  int partitions = 1;
  int64_t record_size = 1024;
  int batch_records = 100;
  DurabilityMode durability = DurabilityMode::kPageCache;
  IoBackendKind io_backend = IoBackendKind::kAuto;  // varve only
};

// Appends batches to one partition. One thread at a time.
class Writer {
 public:
  virtual ~Writer() = default;
  // Appends `records` (each record_size bytes) as one batch; returns once it is acknowledged.
  virtual absl::Status Append(absl::Span<const absl::string_view> records) = 0;
};

class System {
 public:
  virtual ~System() = default;

  virtual SystemKind kind() const = 0;
  // Facts worth printing beside the figures (varve: the I/O backend chosen); may be empty.
  virtual std::string Describe() const { return ""; }

  virtual absl::StatusOr<std::unique_ptr<Writer>> NewWriter(int partition) = 0;
  // Writes out whatever the system still buffers, after the last writer is gone. Timed: it is
  // part of getting the records onto the file system.
  virtual absl::Status FinishWrites() = 0;
  // Untimed preparation between a read workload's load and its scans (RocksDB flushes its
  // memtables and lets compactions finish, so scans read what a log's older data looks like).
  virtual absl::Status PrepareScan() { return absl::OkStatus(); }
  // Reads `partition` from its first record to its last, verifying checksums (varve: each
  // batch's CRC32C; plain file: each record's CRC32C; RocksDB: its block checksums) and that
  // every record has record_size bytes. Adds to *records_seen as it goes (for the progress
  // line) and returns the number of records read; DataLoss on any mismatch.
  virtual absl::StatusOr<int64_t> Scan(int partition, std::atomic<int64_t>* records_seen) = 0;
  // Closes everything; untimed. The system's files stay for the caller to delete or keep.
  virtual absl::Status Close() = 0;
};

absl::StatusOr<std::unique_ptr<System>> OpenVarveSystem(const SystemConfig& config);
absl::StatusOr<std::unique_ptr<System>> OpenPlainFileSystem(const SystemConfig& config);
absl::StatusOr<std::unique_ptr<System>> OpenRocksDbSystem(const SystemConfig& config);

inline absl::StatusOr<std::unique_ptr<System>> OpenSystem(SystemKind kind,
                                                          const SystemConfig& config) {
  switch (kind) {
    case SystemKind::kVarve:
      return OpenVarveSystem(config);
    case SystemKind::kPlainFile:
      return OpenPlainFileSystem(config);
    case SystemKind::kRocksDb:
      return OpenRocksDbSystem(config);
    case SystemKind::kVarveBroker:  // the kafka workloads start it themselves
      break;
  }
  return absl::InvalidArgumentError("unknown system");
}

}  // namespace varve::bench
