#pragma once

// Checkpoint files: small text files in Kafka's checkpoint framing, replaced atomically.
//
//   line 1   version          "0"
//   line 2   entry count      N
//   line 3…  N entries        whitespace-separated fields, one entry per line
//
// WriteCheckpoint writes <path>.tmp, fdatasyncs it, renames it over <path> and fsyncs the
// directory, so after a crash the file is either the old or the new version, never a mix.
//
// Example:
//   RETURN_IF_ERROR(WriteCheckpoint(fs, dir + "/recovery-point-checkpoint", {"4711"}));
//   ASSIGN_OR_RETURN(std::vector<std::string> entries,
//                    ReadCheckpoint(fs, dir + "/recovery-point-checkpoint"));
//
// Errors: ReadCheckpoint returns NotFound when the file does not exist and DataLoss naming the
// file and line when it is malformed (wrong version, count mismatch, trailing garbage).

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/file.h"

namespace varve {

inline constexpr int kCheckpointVersion = 0;

absl::Status WriteCheckpoint(FileSystem* fs, const std::string& path,
                             const std::vector<std::string>& entries);

absl::StatusOr<std::vector<std::string>> ReadCheckpoint(FileSystem* fs, const std::string& path);

// A checkpoint holding one offset (one entry line), such as a log's recovery point. Writes are
// serialized; thread-safe.
class OffsetCheckpoint {
 public:
  OffsetCheckpoint(FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  // The stored offset; nullopt if the file does not exist; DataLoss if it is malformed.
  absl::StatusOr<std::optional<int64_t>> Read() const;
  // Replaces the stored offset.
  absl::Status Write(int64_t offset);
  // Writes `offset` only if it is above the last one this object wrote.
  absl::Status Advance(int64_t offset);
  // Write() calls so far. Advance(offset, generation) is a no-op once a Write() came after
  // `generation` was read: a background advance prepared before a truncation is stale.
  uint64_t generation() const {
    std::lock_guard lock(mu_);
    return generation_;
  }
  absl::Status Advance(int64_t offset, uint64_t generation);
  const std::string& path() const { return path_; }

 private:
  FileSystem* const fs_;
  const std::string path_;
  mutable std::mutex mu_;
  int64_t last_written_ = -1;
  uint64_t generation_ = 0;
};

// The directory part of `path` ("." when there is none).
std::string DirName(const std::string& path);

}  // namespace varve
