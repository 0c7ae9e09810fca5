#pragma once

// OffsetIndex: a segment's `.index` file, Kafka's sparse map from offsets to byte positions in
// the segment's `.log` (format: index/index_format.h; reference §2.3). The log adds an entry
// (last offset of a batch, position where the batch starts) about every index.interval.bytes; a
// read looks up the largest entry at or below the wanted offset and scans batches forward.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<OffsetIndex> index,
//                    OffsetIndex::Open(fs, "/data/t-0/00000000000000000100.index", 100,
//                                      kDefaultMaxIndexBytes, /*writable=*/true));
//   RETURN_IF_ERROR(index->Append(/*offset=*/150, /*position=*/4096));
//   OffsetPosition start = index->Lookup(170);  // {150, 4096}: scan from byte 4096
//   OffsetPosition none = index->Lookup(120);   // {100, 0}: scan from the segment's start
//   RETURN_IF_ERROR(index->Close());             // trims the file to 8 bytes
//
// Concurrency and visibility: one Append at a time, concurrently with any number of Lookup,
// EntryAt, LastEntry, entries() and IsFull() calls; a reader sees every entry whose Append
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

// An absolute offset and the byte position in the `.log` file of the batch that holds it.
struct OffsetPosition {
  int64_t offset;
  int64_t position;
  friend bool operator==(const OffsetPosition&, const OffsetPosition&) = default;
};

class OffsetIndex final : public MappedIndexFile {
 public:
  static constexpr int kEntrySize = kOffsetIndexEntrySize;

  // Opens `path` for the segment whose base offset is `base_offset`. The entry count starts at
  // the file length / 8, so a trimmed index reopens with its entries. When `writable`, a missing
  // file is created, the file is grown to `max_index_bytes` rounded down to a multiple of 8 and
  // mapped read-write; otherwise it must exist and is mapped read-only at its length. Open does
  // not look at the contents: call SanityCheck. InvalidArgument for a negative base offset or
  // (writable) max_index_bytes outside [8, INT32_MAX]; NotFound for a missing read-only file.
  static absl::StatusOr<std::unique_ptr<OffsetIndex>> Open(FileSystem* fs, const std::string& path,
                                                           int64_t base_offset,
                                                           int64_t max_index_bytes, bool writable);

  // Kafka's sanity checks plus two cheap ones, without scanning every entry: the length Open
  // found is a multiple of 8; the first and last offsets are not below the base offset and the
  // last is above the first; the first position is not negative and the last is not below it.
  // DataLoss naming the file, the entry and its byte.
  absl::Status SanityCheck() const;

  // Appends (offset, position). FailedPrecondition if the index is full, sealed, read-only or
  // closed; InvalidArgument if `offset` is not above the last entry's offset, offset - base is
  // not in [0, INT32_MAX], or `position` is not in [0, INT32_MAX].
  absl::Status Append(int64_t offset, int64_t position);

  // The entry with the largest offset <= `target_offset`, or {base_offset(), 0} if there is none.
  OffsetPosition Lookup(int64_t target_offset) const;
  // Entry `i` (0 <= i < entries()), with its absolute offset.
  OffsetPosition EntryAt(int i) const;
  // The last entry, or {base_offset(), 0} if the index is empty.
  OffsetPosition LastEntry() const;
  bool IsFull() const { return entries() >= max_entries(); }

 private:
  explicit OffsetIndex(int64_t base_offset);

  OffsetPosition Decode(const char* entry) const;
};

}  // namespace varve
