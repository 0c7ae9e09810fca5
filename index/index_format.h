#pragma once

// The on-disk formats of Kafka's sparse segment indexes (reference §2.3 and §2.4), byte for byte.
// Both files are flat arrays of fixed-size big-endian entries: no header, no footer, no checksum.
// The entry count is the file length divided by the entry size, which is why an index left
// preallocated by an unclean shutdown must be rebuilt (its zero tail would count as entries).
//
// `<20-digit base offset>.index`, the offset index: offsets strictly increase.
//
//   | bytes | type | field                                                  |
//   |-------|------|--------------------------------------------------------|
//   | 0..3  | i32  | relative offset = offset - segment base offset         |
//   | 4..7  | i32  | physical position in `.log` of the batch holding it    |
//
// `<20-digit base offset>.timeindex`, the time index: timestamps strictly increase, offsets
// never decrease. Entry (T, O) means "the largest timestamp seen up to offset O is T", so every
// record with a timestamp above T comes after O.
//
//   | bytes | type | field                                                  |
//   |-------|------|--------------------------------------------------------|
//   | 0..7  | i64  | timestamp (milliseconds since the Unix epoch)          |
//   | 8..11 | i32  | relative offset = offset - segment base offset         |
//
// While a segment is active its index files are preallocated to `segment.index.bytes` rounded
// down to a multiple of the entry size; when it is sealed or closed they are trimmed to
// entries × entry size.

#include <cstdint>

namespace varve {

inline constexpr int kOffsetIndexEntrySize = 8;
inline constexpr int kOffsetIndexRelativeOffsetAt = 0;
inline constexpr int kOffsetIndexPositionAt = 4;

inline constexpr int kTimeIndexEntrySize = 12;
inline constexpr int kTimeIndexTimestampAt = 0;
inline constexpr int kTimeIndexRelativeOffsetAt = 8;

// Kafka's `segment.index.bytes` default: 10 MiB, which holds 1,310,720 offset-index entries and
// 873,813 time-index entries. Kafka stores the setting in an int, hence the upper bound.
inline constexpr int64_t kDefaultMaxIndexBytes = int64_t{10} * 1024 * 1024;
inline constexpr int64_t kMaxMaxIndexBytes = INT32_MAX;

}  // namespace varve
