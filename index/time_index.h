#pragma once

// TimeIndex: a segment's `.timeindex` file, Kafka's sparse map from timestamps to offsets
// (format: index/index_format.h; reference §2.4). Entry (T, O) says "the largest timestamp seen
// up to offset O is T". The log offers an entry whenever it adds an offset-index entry, with the
// segment's maximum timestamp so far, and the index keeps it only if T is above the last entry's
// timestamp; on roll and close the log adds a final entry that skips the "full" check. A search
// by time (ListOffsets) looks up the largest entry with a timestamp <= T, maps its offset to a
// position through the OffsetIndex, and scans batches forward.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<TimeIndex> index,
//                    TimeIndex::Open(fs, "/data/t-0/00000000000000000100.timeindex", 100,
//                                    kDefaultMaxIndexBytes, /*writable=*/true));
//   RETURN_IF_ERROR(index->MaybeAppend(/*timestamp=*/1000, /*offset=*/150));
//   RETURN_IF_ERROR(index->MaybeAppend(1000, 170));  // not a new maximum: ignored
//   TimestampOffset from = index->Lookup(1500);      // {1000, 150}
//   TimestampOffset none = index->Lookup(999);       // {kNoTimestamp, 100}
//   RETURN_IF_ERROR(index->MaybeAppend(max_ts, last_offset, /*skip_full_check=*/true));  // roll
//   RETURN_IF_ERROR(index->Seal());
//
// Concurrency and visibility: one MaybeAppend at a time, concurrently with any number of Lookup,
// EntryAt, LastEntry, entries() and IsFull() calls; a reader sees every entry whose MaybeAppend
// returned before its call started, possibly later ones, never a partial one. Everything else
// needs exclusive access (details and the lifecycle in index/mapped_index_file.h, whose public
// methods, from entries() to Close(), are part of this class's API).
//
// Lookup results are values; nothing returned points into the mapping.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/file.h"
#include "index/index_format.h"
#include "index/mapped_index_file.h"

namespace varve {

// A timestamp and the absolute offset up to which it is the largest timestamp seen.
struct TimestampOffset {
  int64_t timestamp;
  int64_t offset;
  friend bool operator==(const TimestampOffset&, const TimestampOffset&) = default;
};

class TimeIndex final : public MappedIndexFile {
 public:
  static constexpr int kEntrySize = kTimeIndexEntrySize;
  // Kafka's RecordBatch.NO_TIMESTAMP: the timestamp of "no entry".
  static constexpr int64_t kNoTimestamp = -1;

  // Opens `path` as OffsetIndex::Open does, with 12-byte entries (10 MiB holds 873,813).
  // InvalidArgument for a negative base offset or (writable) max_index_bytes outside
  // [12, INT32_MAX]; NotFound for a missing read-only file.
  static absl::StatusOr<std::unique_ptr<TimeIndex>> Open(FileSystem* fs, const std::string& path,
                                                         int64_t base_offset,
                                                         int64_t max_index_bytes, bool writable);

  // Kafka's sanity checks, without scanning every entry: the length Open found is a multiple of
  // 12; the last timestamp is not below the first; the first and last offsets are not below the
  // base offset and the last is not below the first. DataLoss naming the file, the entry and its
  // byte.
  absl::Status SanityCheck() const;

  // Kafka's maybeAppend. InvalidArgument if `offset` is below the last entry's offset (the base
  // offset when empty) or more than INT32_MAX above the base offset. Then, if `timestamp` is not
  // above LastEntry().timestamp, does nothing and succeeds, even on a full, sealed or read-only
  // index, so offering the same final entry again (roll, then close) is harmless. (Kafka throws
  // for a timestamp strictly below the last; the log only ever offers its running maximum.)
  // Otherwise appends (timestamp, offset), or fails with FailedPrecondition if the index is
  // sealed, read-only or closed, or full: IsFull() unless `skip_full_check`, in which case only
  // a file with no free slot at all is full.
  absl::Status MaybeAppend(int64_t timestamp, int64_t offset, bool skip_full_check = false);

  // The entry with the largest timestamp <= `target_timestamp`, or {kNoTimestamp, base_offset()}
  // if there is none.
  TimestampOffset Lookup(int64_t target_timestamp) const;
  // Entry `i` (0 <= i < entries()), with its absolute offset.
  TimestampOffset EntryAt(int i) const;
  // The last entry, or {kNoTimestamp, base_offset()} if the index is empty.
  TimestampOffset LastEntry() const;
  // Kafka's rule: one slot is always kept free for the final entry written at roll or close.
  bool IsFull() const { return entries() >= max_entries() - 1; }

 private:
  explicit TimeIndex(int64_t base_offset);

  TimestampOffset Decode(const char* entry) const;
};

}  // namespace varve
