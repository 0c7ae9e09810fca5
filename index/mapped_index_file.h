#pragma once

// MappedIndexFile: the machinery OffsetIndex and TimeIndex share. It is a file of fixed-size
// entries (index/index_format.h) that is preallocated and memory-mapped while the segment is
// active, appended to by one writer, read by any number of readers, and trimmed to its entries
// when the segment is sealed or the index closed. It knows the entry size and where in an entry
// the relative offset sits; the derived classes add typed appends, lookups and sanity checks.
// It is never used on its own: its public methods are part of OffsetIndex's and TimeIndex's API.
//
// Example (through a derived class):
//   ASSIGN_OR_RETURN(std::unique_ptr<OffsetIndex> index,
//                    OffsetIndex::Open(fs, dir + "/00000000000000000100.index", 100,
//                                      kDefaultMaxIndexBytes, /*writable=*/true));
//   RETURN_IF_ERROR(index->Append(150, 4096));
//   RETURN_IF_ERROR(index->Seal());   // on roll: the file is now 8 bytes long
//   RETURN_IF_ERROR(index->Close());
//
// Lifecycle. Open maps the file: read-write and grown to `max_index_bytes` (rounded down to a
// multiple of the entry size) when writable, read-only at its length otherwise. The entry count
// starts at file length / entry size (Kafka's rule). Seal trims the file to the entries and stops
// appends; MakeWritable grows and maps it read-write again. Close trims (when the file was opened
// or made writable) and releases the mapping and the descriptor. Destroying an index without
// Close releases them without trimming, exactly like a crash: the file stays preallocated and
// recovery must rebuild it.
//
// Concurrency and visibility. One writer (Append / MaybeAppend of the derived class) may run
// concurrently with any number of readers (Lookup, EntryAt, LastEntry, entries, size_bytes). The
// writer stores an entry's bytes, then publishes the new count with a release store; a reader
// loads the count with acquire and only looks at entries below it, so it sees every entry
// published before its load and never a partial one. TruncateTo, Reset, Seal, MakeWritable,
// Flush and Close must not run concurrently with any other call: the caller excludes readers and
// the writer. Seal keeps the mapping where it is and only shrinks the file, never below the
// entries, so every entry a reader may look at stays mapped and readable at the same address;
// only MakeWritable (which remaps) and Close (which unmaps) move or release it.
//
// Status codes. InvalidArgument: a bad base offset or max_index_bytes. FailedPrecondition: the
// index is closed (or, from the derived appends, sealed, read-only or full). DataLoss: the file
// is too long to be an index, or (SanityCheck) corrupt; messages name the file, the entry and its
// byte. I/O errors come from the FileSystem unchanged (ResourceExhausted for ENOSPC, NotFound for
// a missing file opened read-only, and so on); a failed Seal leaves the index as it was, a failed
// MakeWritable leaves it readable but not appendable.

#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/endian.h"
#include "base/file.h"

namespace varve {

class MappedIndexFile {
 public:
  MappedIndexFile(const MappedIndexFile&) = delete;
  MappedIndexFile& operator=(const MappedIndexFile&) = delete;

  // The number of entries published so far (acquire). 0 after Close.
  int entries() const { return entries_.load(std::memory_order_acquire); }
  // How many entries the file has room for: its length / entry size. Equals entries() once the
  // index is sealed or opened read-only.
  int max_entries() const { return max_entries_; }
  // Whether appends are accepted: opened or made writable, and neither sealed nor closed.
  bool writable() const { return appendable_; }
  int64_t base_offset() const { return base_offset_; }
  const std::string& path() const { return path_; }
  // entries() × entry size: the length the file is trimmed to.
  int64_t size_bytes() const { return int64_t{entries()} * format_.entry_size; }

  // Removes every entry whose offset is >= `offset` (Log::Truncate). Offsets never decrease
  // within an index, so the removed entries are a suffix. Only this object's view changes until
  // the file is trimmed (Seal or Close), which happens only if the file was opened or made
  // writable: a truncation of an index opened read-only never reaches the disk.
  void TruncateTo(int64_t offset);
  // Removes all entries, for an index rebuild. The file keeps its length until trimmed.
  void Reset();
  // Trims the file to size_bytes() (when opened or made writable) and stops appends; lookups
  // keep working. Sealing a sealed or read-only index only repeats the trim if it is needed.
  absl::Status Seal();
  // Grows the file to `max_index_bytes` rounded down to a multiple of the entry size (but never
  // below size_bytes()), reopening it read-write if it was opened read-only, and maps it
  // read-write so appends work again (the active segment of a reopened log). A no-op on an index
  // that already accepts appends and has that size.
  absl::Status MakeWritable(int64_t max_index_bytes);
  // Makes the entries durable: fdatasync(2), which on Linux also writes back the pages dirtied
  // through the shared mapping (it is what msync(MS_SYNC) does). A no-op on a read-only index.
  absl::Status Flush();
  // Trims (as Seal) and releases the mapping and the descriptor, even when the trim fails.
  // Afterwards entries() is 0, lookups find nothing and every other call fails with
  // FailedPrecondition. Closing twice is a no-op. Close does not Flush.
  absl::Status Close();

 protected:
  // How a derived format lays out an entry.
  struct Format {
    int entry_size;
    int relative_offset_at;  // byte of the i32 relative offset within an entry
    const char* name;        // "offset index" or "time index", for messages
  };

  MappedIndexFile(const Format& format, int64_t base_offset);
  ~MappedIndexFile();

  // Opens, sizes and maps the file as the derived class's Open documents. Called once.
  absl::Status OpenFile(FileSystem* fs, const std::string& path, int64_t max_index_bytes,
                        bool writable);

  // The bytes of entry `i`; the caller has seen i < entries().
  const char* EntryData(int i) const {
    assert(i >= 0 && i < max_entries_);
    return data_ + int64_t{i} * format_.entry_size;
  }
  // The absolute offset stored in the entry at `entry`.
  int64_t OffsetOf(const char* entry) const {
    return base_offset_ + static_cast<int32_t>(LoadBE32(entry + format_.relative_offset_at));
  }

  // Returns the last of the first `n` entries for which `pred(entry bytes)` holds, or -1 if it
  // holds for none; `pred` must hold for a prefix of the entries and fail for the rest.
  template <typename Pred>
  int LastEntryWhere(int n, Pred pred) const {
    if (n <= 0 || !pred(EntryData(0))) return -1;
    // Kafka's warm section: most lookups are for the newest entries (consumers at the tail), so
    // try the last 8 KiB first; those searches stay in a few hot cache lines and pages.
    const int warm = n - warm_entries_;
    if (warm <= 0) return Search(0, n, pred);
    if (pred(EntryData(warm))) return Search(warm, n - warm, pred);
    return Search(0, warm, pred);
  }

  // Writer side. Fails with FailedPrecondition naming the file unless the index accepts appends
  // and holds fewer than `limit` entries (limit <= max_entries()).
  absl::Status CheckRoom(int limit) const;
  // `offset` - base offset, or InvalidArgument if that is not in [0, INT32_MAX].
  absl::StatusOr<int32_t> RelativeOffset(int64_t offset) const;
  // The slot the next entry goes into; write all of it, then call PublishEntry.
  char* NextEntry() { return data_ + size_bytes(); }
  void PublishEntry() {
    entries_.store(entries_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // The sanity checks both formats share (reference §2.9): the length Open found is a multiple
  // of the entry size, and the first and last offsets are not below the base offset and are in
  // order (strictly when `offsets_strictly_increase`).
  absl::Status CheckLengthAndOffsets(bool offsets_strictly_increase) const;
  // DataLoss "corrupt <name> <path>: entry <i> (byte <b>): <what>".
  absl::Status Corrupt(int entry, absl::string_view what) const;

 private:
  // The last entry in [low, low + length) for which `pred` holds, given that it holds for `low`.
  // Branch-free, and it prefetches the four candidates two steps ahead, so a search through a
  // cold index costs about a memory latency every other step instead of one per step plus a
  // mispredicted branch (random lookups in a full 10 MiB index: ~1 µs without, ~0.3 µs with).
  template <typename Pred>
  int Search(int low, int length, Pred pred) const {
    while (length > 1) {
      const int half = length / 2;
      const int half2 = (length - half) / 2;          // the half of the next step
      const int half3 = (length - half - half2) / 2;  // and of the one after
      for (const int at : {low, low + half}) {
        __builtin_prefetch(EntryData(at + half3));
        __builtin_prefetch(EntryData(at + half2 + half3));
      }
      low = pred(EntryData(low + half)) ? low + half : low;
      length -= half;
    }
    return low;
  }

  absl::Status CheckOpen() const;
  // Sizes the file for appends and maps it read-write.
  absl::Status Preallocate(int64_t max_index_bytes);
  // Shrinks the file to size_bytes() if it is longer and we may write it.
  absl::Status Trim();

  const Format format_;
  const int warm_entries_;  // Kafka's warm section: the entries in the last 8 KiB
  const int64_t base_offset_;
  FileSystem* fs_ = nullptr;
  std::string path_;
  std::unique_ptr<File> file_;  // null once closed
  bool file_writable_ = false;  // file_ was opened read-write
  std::unique_ptr<MappedRegion> region_;
  char* data_ = nullptr;
  int64_t file_length_ = 0;    // the file's current length
  int64_t opened_length_ = 0;  // the file's length when Open found it, for SanityCheck
  int max_entries_ = 0;
  bool appendable_ = false;
  std::atomic<int> entries_{0};
};

}  // namespace varve
