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
// Example (what Log does):
//   ASSIGN_OR_RETURN(auto seg, Segment::Create(fs, dir, /*base_offset=*/0, config, now_ms));
//   if (seg->ShouldRoll(header, now_ms) == RollReason::kNone) RETURN_IF_ERROR(seg->Append(b, h));
//   ASSIGN_OR_RETURN(std::optional<BatchLocation> loc, seg->FindBatch(42, seg->size()));
//
// Concurrency: one appender at a time (Append, Seal, TruncateTo, Recover, Close are called
// under the Log's append lock; TruncateTo and Seal additionally with readers excluded). Any
// number of readers may call the const methods concurrently with Append: `size()` is published
// with release semantics after a batch's bytes are written and its index entries added, so a
// reader that bounds its scan by `size()` never sees a partially written batch.
//
// Lifetime: Segments are held by shared_ptr. A segment removed from its log (retention,
// truncation) keeps its files open until the last holder lets go, so a reader that still holds it
// keeps reading the old bytes.
//
// Errors: DataLoss (with file and byte position) for malformed bytes found while reading or
// recovering; I/O errors as base/file.h maps them.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/file.h"
#include "index/offset_index.h"
#include "index/time_index.h"
#include "log/log_config.h"
#include "log/record_batch.h"

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

  // Opens an existing segment without scanning its data. A sealed segment's size is its file
  // length; its indexes are sanity-checked and rebuilt from the data if they fail the checks or
  // are missing. An active segment must then be Recover()ed before use.
  static absl::StatusOr<std::shared_ptr<Segment>> Open(FileSystem* fs, const std::string& dir,
                                                       int64_t base_offset, const LogConfig& config,
                                                       bool active, int64_t now_ms);

  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // ---- appender side -----------------------------------------------------------------------

  // Whether `incoming` (offsets already assigned) must go to a new segment.
  RollReason ShouldRoll(const BatchHeader& incoming, int64_t now_ms) const;

  // Writes one whole batch at the end. Its offsets must follow next_offset(). On a write error
  // the segment's visible size is unchanged and any partial bytes are truncated away.
  absl::Status Append(absl::string_view batch, const BatchHeader& header);

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

  // Flushes and trims the indexes (a later Open finds their entries) and releases them.
  absl::Status Close();

  // Unlinks the three files. Open handles keep working until the Segment is destroyed.
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
  bool sealed() const { return sealed_; }
  File* log_file() const { return log_.get(); }
  const std::string& log_path() const { return log_->path(); }

  // The first batch at a position below `limit` whose last offset is >= `offset`, found through
  // the offset index and a forward scan of batch headers; nullopt if there is none.
  absl::StatusOr<std::optional<BatchLocation>> FindBatch(int64_t offset, int64_t limit) const;

  // The header of the batch starting at `position`, checked to fit below `limit`.
  absl::StatusOr<BatchHeader> ReadBatchHeader(int64_t position, int64_t limit) const;

  // The offset-index entry with the largest position at or below `position`, or nullopt. Its
  // position is a batch start whose batch ends at the entry's offset: a safe place to resume a
  // header scan from when walking forward to a byte budget.
  std::optional<OffsetPosition> IndexEntryAtOrBefore(int64_t position) const;

  // The first batch below `limit` whose MaxTimestamp is >= `timestamp` (reference §2.4 steps
  // 2–4); nullopt if none.
  absl::StatusOr<std::optional<BatchLocation>> FindBatchForTimestamp(int64_t timestamp,
                                                                     int64_t limit) const;

  const OffsetIndex& offset_index() const { return *offset_index_; }
  const TimeIndex& time_index() const { return *time_index_; }

 private:
  Segment(FileSystem* fs, std::string dir, int64_t base_offset, const LogConfig& config,
          int64_t now_ms);

  absl::Status OpenIndexes(bool writable);
  // Adds index entries for a batch at `position`, per the index.interval.bytes rule.
  absl::Status IndexBatch(const BatchHeader& header, int64_t position);
  // Re-derives max timestamp and next offset by scanning from the last index entry.
  absl::Status ReloadTailState();
  std::string PathFor(absl::string_view suffix) const;

  FileSystem* const fs_;
  const std::string dir_;
  const int64_t base_offset_;
  const LogConfig config_;
  const int64_t created_ms_;

  std::unique_ptr<File> log_;
  std::unique_ptr<OffsetIndex> offset_index_;
  std::unique_ptr<TimeIndex> time_index_;

  std::atomic<int64_t> size_{0};
  int64_t next_offset_;
  // Appender-only state.
  bool sealed_ = false;
  int64_t bytes_since_last_index_entry_ = 0;
  // MaxTimestamp of the first batch (drives time-based rolling); kNoTimestamp if unknown.
  int64_t rolling_base_timestamp_ = kNoTimestamp;
  std::atomic<int64_t> max_timestamp_{kNoTimestamp};
  std::atomic<int64_t> offset_of_max_timestamp_;
};

}  // namespace varve
