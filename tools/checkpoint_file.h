#pragma once

// Reads checkpoint files (Kafka's framing, log/checkpoint.h: version line "0", entry count
// line, then the entries) for varve-dump, without trusting them: what is off becomes a
// checkpoint_malformed problem naming the byte where the offending line starts, and whatever
// entries could be read are still returned.
//
// Example:
//   std::vector<std::string> entries;
//   RETURN_IF_ERROR(ReadCheckpointEntries(file.get(), &entries, &problems));
//   std::optional<int64_t> recovery_point = SingleOffset(entries);

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/dump_output.h"
#include "tools/segment_scanner.h"

namespace varve::dump {

// The largest checkpoint read; a larger file is reported and not read.
inline constexpr int64_t kMaxCheckpointBytes = int64_t{1} << 20;

// Fills *entries with the entry lines. Only I/O errors are returned as a status.
absl::Status ReadCheckpointEntries(ReadOnlyFile* file, std::vector<std::string>* entries,
                                   std::vector<Problem>* problems);

// The offset of a checkpoint that holds exactly one non-negative offset (varve's per-partition
// recovery-point-offset-checkpoint and log-start-offset-checkpoint), else nullopt.
std::optional<int64_t> SingleOffset(const std::vector<std::string>& entries);

}  // namespace varve::dump
