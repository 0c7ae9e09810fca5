#pragma once

// A segment: one contiguous range of a log's offsets, stored as Kafka stores it.
//
//   <dir>/<20-digit base offset>.log        RecordBatch v2 bytes, back to back, nothing else
//   <dir>/<20-digit base offset>.index      sparse offset index  (index/offset_index.h)
//   <dir>/<20-digit base offset>.timeindex  sparse time index    (index/time_index.h)
//
// The last segment of a log is *active* (appended to, indexes preallocated and mapped
// read-write); the others are *sealed* (indexes trimmed, read-only). `Log` owns the segments and
// decides when to roll, truncate and delete; a Segment only knows its own files.
//
// Open files (log/segment_handle_cache.h): the active segment keeps its three files open. A
// sealed segment's files are a *handle* in the process-wide SegmentHandleCache: opened lazily on
// first use, closed again when the budget needs room and nobody is using them. Every reader
// method pins the handle for its own duration; PinFiles()/PinLogFile() pin it for the caller
// (FileSlice holds such a pin). Seal hands the active files to the cache as they are; TruncateTo
// on a sealed segment opens them for appends again, outside the budget.
//
// Example (what Log does):
//   ASSIGN_OR_RETURN(auto seg, Segment::Create(fs, dir, /*base_offset=*/0, config, now_ms));
//   if (seg->ShouldRoll(header, now_ms) == RollReason::kNone) RETURN_IF_ERROR(seg->Append(b, h));
//   ASSIGN_OR_RETURN(std::optional<BatchLocation> loc, seg->FindBatch(42, seg->size()));
//   ASSIGN_OR_RETURN(std::shared_ptr<File> file, seg->PinLogFile());  // for a FileSlice
//
// Concurrency: one appender at a time (Append, Seal, TruncateTo, Recover, Close, DeleteFiles
// are called under the Log's append lock; TruncateTo and Seal additionally with readers
// excluded). Any number of readers may call the const methods concurrently with Append, and
// Sync may run on another thread concurrently with everything but TruncateTo and Close: `size()` is
// published with release semantics after a batch's bytes are written and its index entries
// added, so a reader that bounds its scan by `size()` never sees a partially written batch.
// Opening or closing a sealed segment's files never blocks on another segment's.
//
// Lifetime: Segments are held by shared_ptr. A segment removed from its log (retention,
// truncation) has its files unlinked, but a pin taken before keeps its files open and its old
// bytes readable until the pin goes; the segment itself cannot reopen them.
//
// Errors: DataLoss (with file and byte position) for malformed bytes found while reading or
// recovering, or for a corrupt index found when a sealed segment's files are reopened; I/O
// errors as base/file.h maps them (a reader may get them from the lazy open too).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/file.h"
#include "index/offset_index.h"
#include "index/time_index.h"
#include "log/io_backend.h"
#include "log/log_config.h"
#include "log/record_batch.h"
#include "log/segment_handle_cache.h"

namespace varve {

// "00000000000000000042" for 42: Kafka's segment file stem.
std::string SegmentFileStem(int64_t base_offset);
// Parses "<20 digits>.log" into its base offset; nullopt for any other name.
std::optional<int64_t> ParseSegmentLogFileName(absl::string_view name);

// Why a segment must roll before the next append (reference §2.8).
enum class RollReason {
  kNone,
  kSize,            // segment.bytes would be exceeded
  kTime,            // segment.ms elapsed since the segment's first batch
  kIndexFull,       // the offset or time index is full
  kOffsetOverflow,  // the batch's last offset does not fit in a 32-bit relative offset
};
const char* RollReasonName(RollReason reason);

// Where a batch starts in the .log file, with its decoded header.
struct BatchLocation {
  int64_t position;
  BatchHeader header;
};

class Segment {
 public:
  // Creates the files of a new, empty active segment, replacing leftovers of the same name.
  static absl::StatusOr<std::shared_ptr<Segment>> Create(FileSystem* fs, const std::string& dir,
                                                         int64_t base_offset,
                                                         const LogConfig& config, int64_t now_ms);

  // What a reopen needs to know about an active segment without reading its data; saved at a
  // clean shutdown.
  struct ActiveState {
    int64_t size = 0;
    int64_t next_offset = 0;
    TimestampOffset max_timestamp{kNoTimestamp, 0};
    int64_t rolling_base_timestamp = kNoTimestamp;
  };

  // Opens a sealed segment without reading its data: its size is the file length, its largest
  // timestamp the last time-index entry, and `next_offset` (the next segment's base) comes from
  // the caller. The files opened for that become the segment's cached handle (the budget may
  // close them at once). A missing or insane index is rebuilt by scanning the data; if that scan
  // finds invalid bytes the open fails with DataLoss naming the file and byte, and nothing is
  // changed.
  static absl::StatusOr<std::shared_ptr<Segment>> OpenSealed(FileSystem* fs, const std::string& dir,
                                                             int64_t base_offset,
                                                             int64_t next_offset,
                                                             const LogConfig& config,
                                                             int64_t now_ms);

  // Opens the last segment for appends. With `clean` (saved at a clean shutdown) nothing is read
  // from the data; FailedPrecondition if the files do not match it. Without, the caller must
  // Recover() the segment before use.
  static absl::StatusOr<std::shared_ptr<Segment>> OpenActive(FileSystem* fs, const std::string& dir,
                                                             int64_t base_offset,
                                                             const LogConfig& config,
                                                             int64_t now_ms,
                                                             const ActiveState* clean);

  // The state to save at a clean shutdown (appender side).
  ActiveState active_state() const;

  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // ---- appender side -----------------------------------------------------------------------

  // Whether `incoming` (offsets already assigned) must go to a new segment.
  RollReason ShouldRoll(const BatchHeader& incoming, int64_t now_ms) const;

  // Writes one whole batch at the end. Its offsets must follow next_offset(). On a write error
  // the segment's visible size is unchanged and any partial bytes are truncated away.
  // The bytes go through `io` when given (with a linked sync when `sync` is non-null; see
  // log/io_backend.h), else straight through the File.
  absl::Status Append(absl::string_view batch, const BatchHeader& header, IoBackend* io = nullptr,
                      PendingSync* sync = nullptr);

  // Scans every batch from the start, checking length, magic, CRC and offset order, and
  // rebuilds both indexes from the valid prefix. Returns the number of bytes after it. With
  // `truncate_invalid_tail` the file is cut there (a torn or corrupt tail); without, the file is
  // left untouched for the caller to report. Leaves the segment active.
  absl::StatusOr<int64_t> Recover(bool truncate_invalid_tail = true);

  // Appends the final time-index entry and trims both indexes. Later appends fail.
  absl::Status Seal();

  // Removes every batch whose last offset is >= `offset` (a batch straddling `offset` goes
  // too), and makes the segment active again. Returns the number of bytes removed.
  absl::StatusOr<int64_t> TruncateTo(int64_t offset);

  // Makes the data durable through `io` (fdatasync of the .log), and, the first time after
  // Seal, the index files too. For a sealed segment whose handle is closed it opens descriptors
  // of its own for the call, outside the budget, rather than evict a reader's handle. A no-op
  // once DeleteFiles ran: nothing is left to make durable.
  absl::Status Sync(IoBackend* io);

  // For a clean shutdown of the active segment: the final time-index entry, both indexes
  // trimmed and synced, so a reopen can trust them without reading data.
  absl::Status SealIndexesForClose();

  // Trims the active segment's indexes (a later Open finds their entries) and releases its files
  // (a sealed segment's cached handle); pins keep them open. Afterwards the segment counts as
  // sealed: a later read reopens its files through the budget.
  absl::Status Close();

  // Unlinks the three files and drops the cached handle. Pins taken before keep reading the old
  // bytes; later reads of a sealed segment fail (NotFound).
  absl::Status DeleteFiles();

  // ---- reader side (thread-safe) -----------------------------------------------------------

  int64_t base_offset() const { return base_offset_; }
  // Bytes of complete batches (acquire).
  int64_t size() const { return size_.load(std::memory_order_acquire); }
  // One past the last offset written (base_offset() when empty). Appender's view; readers use
  // the log's published end offset.
  int64_t next_offset() const { return next_offset_; }
  // Largest batch MaxTimestamp in the segment and the last offset of the batch holding it;
  // timestamp kNoTimestamp when the segment has no timestamps.
  TimestampOffset max_timestamp() const;
  bool sealed() const { return sealed_.load(std::memory_order_acquire); }
  const std::string& log_path() const { return log_path_; }

  // The segment's open files, pinned: they stay open (and their bytes readable, even after
  // DeleteFiles) while the returned pointer or a copy lives. A sealed segment's files are opened
  // through the budget if they are not open: NotFound after DeleteFiles, DataLoss if an index
  // fails its sanity check, I/O errors otherwise. Do not keep pins longer than needed: each holds
  // a handle of the budget.
  absl::StatusOr<std::shared_ptr<const SegmentFiles>> PinFiles() const;
  // The .log of PinFiles(), pinning all of the handle (an aliasing pointer): what FileSlice holds.
  absl::StatusOr<std::shared_ptr<File>> PinLogFile() const;
  // The active segment's .log, pinned; null once the segment is sealed (use PinLogFile).
  std::shared_ptr<File> log_file() const;

  // The first batch at a position below `limit` whose last offset is >= `offset`, found through
  // the offset index and a forward scan of batch headers; nullopt if there is none.
  absl::StatusOr<std::optional<BatchLocation>> FindBatch(int64_t offset, int64_t limit) const;

  // The header of the batch starting at `position`, checked to fit below `limit`.
  absl::StatusOr<BatchHeader> ReadBatchHeader(int64_t position, int64_t limit) const;

  // The offset-index entry with the largest position at or below `position`, or nullopt. Its
  // position is a batch start whose batch ends at the entry's offset: a safe place to resume a
  // header scan from when walking forward to a byte budget. Also nullopt if the files cannot be
  // opened: it is only a shortcut, and the caller's next ReadBatchHeader reports the error.
  std::optional<OffsetPosition> IndexEntryAtOrBefore(int64_t position) const;

  // The first batch below `limit` whose MaxTimestamp is >= `timestamp` (reference §2.4 steps
  // 2–4); nullopt if none.
  absl::StatusOr<std::optional<BatchLocation>> FindBatchForTimestamp(int64_t timestamp,
                                                                     int64_t limit) const;

  // The same three on files the caller pinned with PinFiles(), which must be this segment's:
  // for loops that would otherwise pin (and touch the budget's LRU list) once per batch.
  absl::StatusOr<std::optional<BatchLocation>> FindBatch(const SegmentFiles& files, int64_t offset,
                                                         int64_t limit) const;
  absl::StatusOr<BatchHeader> ReadBatchHeader(const SegmentFiles& files, int64_t position,
                                              int64_t limit) const;
  std::optional<OffsetPosition> IndexEntryAtOrBefore(const SegmentFiles& files,
                                                     int64_t position) const;

 private:
  Segment(FileSystem* fs, std::string dir, int64_t base_offset, const LogConfig& config,
          int64_t now_ms);

  // Opens both indexes into *files: read-write and preallocated for appends, else read-only at
  // their length. Does not check them.
  absl::Status OpenIndexes(SegmentFiles* files, bool writable) const;
  // The handle of a sealed segment, opened read-only: the cache's opener.
  absl::StatusOr<std::unique_ptr<SegmentFiles>> OpenForRead() const;
  // Opens the files of a sealed segment for appends again (TruncateTo) and makes it active.
  absl::Status Reactivate();
  // Installs `files` as the active segment's files (appender side, readers excluded).
  void SetActive(std::shared_ptr<SegmentFiles> files);
  // Syncs the index files of a sealed segment through `files` if they are open read-write, else
  // (also when null) through descriptors opened for the purpose.
  absl::Status SyncIndexes(const SegmentFiles* files) const;
  // Adds index entries for a batch at `position`, per the index.interval.bytes rule.
  absl::Status IndexBatch(const BatchHeader& header, int64_t position);
  // Re-derives max timestamp and next offset by scanning from the last index entry.
  absl::Status ReloadTailState();
  // A segment whose .log is open (read-write for appends, else read-only) with the file's
  // length as its size, and nothing else open.
  static absl::StatusOr<std::shared_ptr<Segment>> OpenFiles(FileSystem* fs, const std::string& dir,
                                                            int64_t base_offset,
                                                            const LogConfig& config, int64_t now_ms,
                                                            bool writable,
                                                            std::unique_ptr<SegmentFiles>* files);
  std::string PathFor(absl::string_view suffix) const;

  FileSystem* const fs_;
  const std::string dir_;
  const int64_t base_offset_;
  const LogConfig config_;
  const int64_t created_ms_;
  const std::string log_path_;

  // The active segment's files, opened for appends; null once sealed (then the handle lives in
  // slot_). Written by the appender with mu_ held (readers excluded as well); read by the
  // appender without it and by PinFiles with it.
  mutable std::mutex mu_;
  std::shared_ptr<SegmentFiles> active_;
  mutable SegmentHandleCache::Slot slot_{&SegmentHandleCache::Global()};

  std::atomic<int64_t> size_{0};
  int64_t next_offset_;
  std::atomic<bool> sealed_{false};
  // Set by Seal until a Sync has made the trimmed index files durable.
  std::atomic<bool> indexes_unsynced_{false};
  // DeleteFiles ran: the files cannot be reopened, and there is nothing left to sync.
  std::atomic<bool> deleted_{false};
  // Appender-only state.
  int64_t bytes_since_last_index_entry_ = 0;
  // MaxTimestamp of the first batch (drives time-based rolling); kNoTimestamp if unknown.
  int64_t rolling_base_timestamp_ = kNoTimestamp;
  std::atomic<int64_t> max_timestamp_{kNoTimestamp};
  std::atomic<int64_t> offset_of_max_timestamp_;
};

}  // namespace varve
