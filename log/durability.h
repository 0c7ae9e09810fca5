#pragma once

// The engine's named policies: when an append counts as durable, how writes reach the disk,
// and what recovery may cut. Each says what is lost in which failure; docs/durability.md is the
// long form.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace varve {

enum class DurabilityMode {
  // Acknowledged once written to the operating system's page cache (Kafka's default). A process
  // crash loses nothing acknowledged. A power loss or kernel crash loses what the kernel had not
  // yet written back: everything after the recovery point, at worst. Appenders never wait for
  // the disk; sealed segments are flushed in the background.
  kPageCache,
  // Acknowledged once an fdatasync(2) issued after the append has completed. Neither a process
  // crash nor a power loss loses anything acknowledged. Concurrent appenders share one
  // fdatasync (group commit).
  kGroupCommit,
  // Acknowledged in the page cache, like kPageCache, and flushed in the background whenever
  // `flush_interval_bytes` have been appended or `flush_interval_ms` have passed since the
  // last flush with data waiting. A power loss loses at most that window.
  kInterval,
};

// How appends reach the file.
enum class IoBackendKind {
  kAuto,     // io_uring when the kernel allows it, else pwritev
  kIoUring,  // io_uring only; opening fails if unavailable
  kPwritev,  // pwritev(2) / fdatasync(2) on the calling thread
};

// What opening a log may do about invalid bytes found while scanning (after an unclean
// shutdown, or when a sealed segment's index must be rebuilt).
enum class RecoveryMode {
  // Truncate a torn or corrupt tail of the last segment (an append that never completed; zeros
  // from a preallocated or unwritten tail). Invalid bytes anywhere else fail the open with
  // DataLoss naming the file and byte: nothing from the middle of the log is cut silently.
  kTruncateTornTail,
  // Truncate at the first invalid byte wherever it is and delete every later segment (Kafka's
  // behaviour). Loses every batch after the corruption, valid or not; the open reports how much.
  kTruncateAtFirstCorruption,
};

const char* DurabilityModeName(DurabilityMode mode);  // "page_cache", "group_commit", "interval"
const char* IoBackendKindName(IoBackendKind kind);    // "auto", "io_uring", "pwritev"
const char* RecoveryModeName(RecoveryMode mode);

// Parse the names above; InvalidArgument listing the accepted names otherwise.
absl::StatusOr<DurabilityMode> ParseDurabilityMode(absl::string_view name);
absl::StatusOr<IoBackendKind> ParseIoBackendKind(absl::string_view name);
absl::StatusOr<RecoveryMode> ParseRecoveryMode(absl::string_view name);

}  // namespace varve
