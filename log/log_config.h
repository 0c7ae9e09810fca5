#pragma once

// Per-log configuration, named and defaulted as Kafka's topic configs are, so operators'
// knowledge carries over. Parse from Kafka-style properties with LogConfig::FromProperties.
//
// Example:
//   ASSIGN_OR_RETURN(LogConfig config,
//                    LogConfig::FromProperties({{"segment.bytes", "104857600"}}));
//   ASSIGN_OR_RETURN(std::unique_ptr<Log> log, Log::Open(dir, config));
//
// Errors: InvalidArgument naming the key and the offending value (unknown key, not a number,
// out of range).

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "log/durability.h"

namespace varve {

struct LogConfig {
  // segment.bytes: roll to a new segment when the next batch would push the active segment
  // past this many bytes. A batch larger than this is rejected. Minimum 14 (Kafka's).
  int64_t segment_bytes = 1024 * 1024 * 1024;
  // segment.ms: roll when the active segment's records span more than this (measured with
  // record timestamps, as Kafka does; see docs/format.md). Minimum 1.
  int64_t segment_ms = 7LL * 24 * 60 * 60 * 1000;
  // segment.jitter.ms: subtracted from segment.ms (a fixed value per log here; Kafka draws a
  // random one per segment to spread rolls).
  int64_t segment_jitter_ms = 0;
  // index.interval.bytes: bytes of batches between two offset/time index entries.
  int32_t index_interval_bytes = 4096;
  // segment.index.bytes: preallocated size of each index file; an index that fills up rolls
  // the segment. Minimum 24 (room for two time-index entries).
  int32_t segment_index_bytes = 10 * 1024 * 1024;
  // max.message.bytes: the largest batch accepted, in bytes including its 12-byte log overhead.
  int32_t max_message_bytes = 1048588;
  // retention.ms: sealed segments whose newest record timestamp is older than this are deleted
  // by retention; -1 keeps them forever.
  int64_t retention_ms = 7LL * 24 * 60 * 60 * 1000;
  // retention.bytes: the oldest sealed segments are deleted while the log would stay at least
  // this large without them; -1 means no size limit.
  int64_t retention_bytes = -1;

  // varve.durability: when an append is acknowledged (log/durability.h, docs/durability.md):
  // page_cache, group_commit or interval.
  DurabilityMode durability = DurabilityMode::kPageCache;
  // flush.ms: in interval mode, the longest time appended data waits for an fdatasync.
  int64_t flush_interval_ms = 1000;
  // varve.flush.bytes: in interval mode, an fdatasync starts once this many bytes are waiting.
  int64_t flush_interval_bytes = 1024 * 1024;

  // Checks ranges; InvalidArgument naming the key.
  absl::Status Validate() const;

  // Starts from `base` and applies each Kafka-named key in `props`, then validates.
  static absl::StatusOr<LogConfig> FromProperties(const std::map<std::string, std::string>& props,
                                                  const LogConfig& base);
  static absl::StatusOr<LogConfig> FromProperties(const std::map<std::string, std::string>& props) {
    return FromProperties(props, LogConfig());
  }
};

}  // namespace varve
