#pragma once

// Log: one partition of a commit log. An ordered run of segments (log/segment.h) in one
// directory, in Kafka's layout and byte format, with offsets assigned densely by the log.
//
// Example:
//   LogOptions options;  // Kafka's defaults; see log/log_config.h
//   ASSIGN_OR_RETURN(std::unique_ptr<Log> log, Log::Open("/data/orders-0", options));
//   RecordToAppend records[] = {{.key = "k1", .value = "v1"}, {.key = "k2", .value = "v2"}};
//   ASSIGN_OR_RETURN(AppendInfo info, log->Append(records));  // info.base_offset == 0
//   LogReader reader = log->NewReader(/*offset=*/0);
//   RecordView record;
//   while (reader.NextRecord(&record)) Use(record.offset, record.key, record.value);
//   RETURN_IF_ERROR(reader.status());
//   RETURN_IF_ERROR(log->Close());
//
// Concurrency contract:
//   * One appender at a time: Append, AppendBatch, Truncate and Close serialize on an internal
//     lock, so calling them from several threads is safe but they do not run in parallel.
//   * Any number of concurrent readers (Read, NewReader, OffsetForTimestamp, offsets) at any
//     time, including while an append is in progress.
//   * Visibility: a batch becomes visible to readers only after all its bytes are written and
//     indexed; end_offset() then moves past it. A reader never sees a partially written batch.
//     Reads are bounded by the end offset observed when the read starts.
//   * Truncate excludes readers while it runs. Slices already returned stay valid as handles,
//     but bytes that Truncate removed can no longer be read through them (FileSlice::AppendTo
//     reports DataLoss instead of returning other data's bytes).
//
// Durability: LogConfig::durability names when Append returns (log/durability.h,
// docs/durability.md). In group_commit mode Append blocks until an fdatasync covers the batch,
// sharing that fdatasync with concurrent appenders; AppendAsync instead returns at once and calls
// back when durable, so a network thread never blocks on the disk. No mode runs an fdatasync on
// the appending thread except a group_commit Append that is waiting for one anyway.
//
// Crash safety: Close() syncs everything and records a clean-shutdown state, so the next Open
// reads no segment data. After a crash, Open scans only the segments from the recovery-point
// checkpoint on, truncates a torn tail, and refuses (DataLoss) to cut corruption from the middle
// of the log unless LogOptions::recovery_mode allows it. After a failed fdatasync the log stops
// accepting appends (FailedPrecondition with the original error): reopen it to recover.
//
// Errors: InvalidArgument for a malformed or oversized batch (the message names the rule and the
// byte), OutOfRange for offsets outside [start_offset(), end_offset()], FailedPrecondition
// after Close, DataLoss for corrupt data found on disk (naming file and byte), and I/O errors as
// base/file.h maps them (ResourceExhausted for a full disk).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/file.h"
#include "log/batch_builder.h"
#include "log/batch_reader.h"
#include "log/checkpoint.h"
#include "log/durability.h"
#include "log/group_commit.h"
#include "log/io_backend.h"
#include "log/log_config.h"
#include "log/record_batch.h"
#include "log/retention.h"
#include "log/segment.h"

namespace varve {

// Decompresses a compressed batch's records section (the bytes after its 61-byte header, one
// stream holding every record) into *out, replacing its contents. Called concurrently from any
// reader thread, so it must be thread-safe. An error fails the lookup that needed the records.
// Example, with //log/compression:decompress:
//   options.decompress = [](Compression codec, absl::string_view payload, std::string* out) {
//     return Decompress(codec, payload, DecompressLimits(), out);
//   };
using BatchDecompressor =
    std::function<absl::Status(Compression codec, absl::string_view payload, std::string* out)>;

struct LogOptions {
  LogConfig config;
  FileSystem* fs = PosixFileSystem();
  // How appends reach the files; kAuto prefers io_uring. See Log::io_backend().
  IoBackendKind io_backend = IoBackendKind::kAuto;
  // What opening may cut after an unclean shutdown (log/durability.h).
  RecoveryMode recovery_mode = RecoveryMode::kTruncateTornTail;
  // Milliseconds since the epoch; tests substitute a fake clock. Used for record timestamps
  // left unset and for time-based rolling of segments without timestamps.
  std::function<int64_t()> now_ms;
  // How OffsetForTimestamp reads the records of a compressed batch. The engine links no codec:
  // unset, it answers with the batch's base offset and MaxTimestamp instead of the exact record.
  // The broker installs log/compression/decompress.h's Decompress.
  BatchDecompressor decompress;
};

// What Log::Open found and did.
struct LogOpenInfo {
  bool clean_shutdown = false;  // the clean-shutdown state was found and used: no data read
  int64_t recovery_point = 0;   // from the checkpoint; scanning started at its segment
  int segments_scanned = 0;
  int64_t bytes_truncated = 0;  // torn tail, or everything after a corruption (truncating mode)
  int segments_deleted = 0;     // after a corruption, in truncating mode
  std::string notes;            // why a checkpoint or the clean-shutdown state was not used
};

// One record for Log::Append. Null key or value: std::nullopt.
struct RecordToAppend {
  std::optional<absl::string_view> key;
  std::optional<absl::string_view> value;
  int64_t timestamp = kNoTimestamp;  // kNoTimestamp: the log's clock at append time
  absl::Span<const HeaderRef> headers = {};
};

struct AppendInfo {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t max_timestamp = kNoTimestamp;
  int64_t size_bytes = 0;
  // Why the append started a new segment, kNone if it did not.
  RollReason roll = RollReason::kNone;
};

// A run of whole batches inside one segment file: what a fetch sends with sendfile(2).
// A slice pins its segment's open files (a handle of the process-wide budget,
// log/segment_handle_cache.h): `file` stays open and its bytes readable while the slice lives,
// even if the budget would evict the segment or the segment is deleted. Drop slices once sent.
struct FileSlice {
  std::shared_ptr<const Segment> segment;
  std::shared_ptr<File> file;  // the segment's .log, pinned
  int64_t position = 0;        // byte position in the segment's .log file
  int64_t size = 0;
  int64_t first_offset = 0;  // base offset of the first batch
  int64_t last_offset = 0;   // last offset of the last batch

  int fd() const { return file->fd(); }
  // Appends the slice's bytes to *out.
  absl::Status AppendTo(std::string* out) const;
};

struct ReadResult {
  // Consecutive batches in offset order. Empty when the read starts at the upper bound.
  std::vector<FileSlice> slices;
  int64_t size_bytes = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;

  bool empty() const { return slices.empty(); }
  absl::Status AppendTo(std::string* out) const;
};

struct TimestampAndOffset {
  int64_t timestamp;
  int64_t offset;
};

class LogReader;

class Log {
 public:
  // Opens the log in `dir`, creating the directory and a first empty segment if needed. The
  // last segment is scanned: a torn or corrupt tail is truncated and its indexes rebuilt.
  // A corrupt sealed segment fails the open with DataLoss naming the file and byte.
  static absl::StatusOr<std::unique_ptr<Log>> Open(const std::string& dir,
                                                   const LogOptions& options);

  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  using AppendCallback = std::function<void(absl::StatusOr<AppendInfo>)>;

  // Builds one uncompressed batch from `records` (at least one) and appends it. Returns when
  // the batch is acknowledged per the durability mode.
  absl::StatusOr<AppendInfo> Append(absl::Span<const RecordToAppend> records);
  // Like Append, but never waits for the disk: the batch is written (offsets assigned, visible
  // to readers) before this returns, and `done` runs once it is acknowledged per the durability
  // mode — at once, on this thread, unless the mode is group_commit, then on a background
  // thread after the covering fdatasync. Errors also go to `done`.
  void AppendAsync(absl::Span<const RecordToAppend> records, AppendCallback done);

  // Appends one pre-built RecordBatch v2 (possibly compressed). The batch is validated (length,
  // magic, CRC, counts, and the records of uncompressed batches); the log assigns its offsets by
  // rewriting BaseOffset and stamps PartitionLeaderEpoch with leader_epoch() — both fields lie
  // outside the CRC — and changes nothing else.
  absl::StatusOr<AppendInfo> AppendBatch(absl::Span<char> batch);
  void AppendBatchAsync(absl::Span<char> batch, AppendCallback done);

  // For callers that already checked the batch with ValidateBatch (log/batch_validator.h) and
  // pass the header it filled (the broker's produce path): appends without validating again and
  // without waiting for the disk in any mode. The batch is written and visible to readers when
  // this returns; learn when it is durable with WhenDurable. In group_commit mode a background
  // fdatasync is scheduled, so the batch becomes durable without another append.
  absl::StatusOr<AppendInfo> AppendValidatedBatch(absl::Span<char> batch,
                                                  const BatchHeader& header);
  // Calls `done` (on this thread if already durable, else on a background thread) once every
  // offset below `end_offset` is covered by a successful fdatasync, whatever the mode, or with
  // the error that prevents it. Never blocks. acks=-1 produce responses wait on this.
  void WhenDurable(int64_t end_offset, std::function<void(absl::Status)> done);

  // Makes everything appended so far durable (fdatasync), whatever the mode.
  absl::Status Flush();

  // Whole batches starting with the one that holds `offset`, up to `max_bytes` in total but at
  // least one whole batch, and only batches whose last offset is below `upper_bound` (default
  // and maximum: end_offset()), from at most SegmentHandleCache::max_segments_per_read()
  // segments (each slice pins its segment's files). The first batch may begin before `offset`;
  // skip its leading records. OutOfRange unless start_offset() <= offset <= end_offset().
  absl::StatusOr<ReadResult> Read(int64_t offset, int64_t max_bytes,
                                  std::optional<int64_t> upper_bound = std::nullopt) const;

  // Iterates batches and records from `offset` up to `upper_bound` (default: the end offset
  // when each chunk is read, so a reader keeps seeing new appends).
  LogReader NewReader(int64_t offset, std::optional<int64_t> upper_bound = std::nullopt) const;

  // The first record at or above start_offset() whose timestamp is >= `timestamp` (ListOffsets
  // by time), or nullopt if every such record is older. Only the batch holding the answer is
  // decoded. A compressed batch is decoded through LogOptions::decompress, so the answer is
  // exact as in Kafka; without a decompressor it is the batch's base offset (or the log start,
  // if above it) and its MaxTimestamp. Errors: DataLoss for a payload that does not decompress
  // or malformed records (ResourceExhausted when the payload decompresses past the
  // decompressor's limits), the message naming the segment file and the batch's byte position;
  // I/O errors; FailedPrecondition after Close.
  absl::StatusOr<std::optional<TimestampAndOffset>> OffsetForTimestamp(int64_t timestamp) const;

  // Removes every batch whose last offset is >= `offset` (a batch straddling `offset` is removed
  // whole), deleting later segments. Afterwards end_offset() <= offset. When nothing at or
  // above start_offset() would remain (`offset` is below it, or inside the batch holding it),
  // the log is emptied and restarts at `offset`.
  absl::Status Truncate(int64_t offset);

  // Applies retention.ms, retention.bytes and the log start offset (docs/retention.md):
  // deletes whole old segments, never one holding offsets at or above `upper_bound` (default:
  // the end offset; pass the high watermark), never leaving the log without a segment. Readers
  // holding a deleted segment keep reading it. Persists the new log start offset.
  struct RetentionResult {
    int segments_deleted = 0;
    int64_t bytes_deleted = 0;
    RetentionReason reason = RetentionReason::kNone;
    int64_t log_start_offset = 0;
  };
  absl::StatusOr<RetentionResult> ApplyRetention(std::optional<int64_t> upper_bound = std::nullopt);

  // Kafka's DeleteRecords: raises the log start offset to `offset` (a lower value changes
  // nothing), so reads below it fail with OutOfRange, and deletes the segments wholly below it.
  // OutOfRange if `offset` is above `upper_bound` (default: the end offset).
  absl::StatusOr<RetentionResult> DeleteRecordsBefore(
      int64_t offset, std::optional<int64_t> upper_bound = std::nullopt);

  // Stops appends and reads; trims the active segment's indexes. Idempotent.
  absl::Status Close();

  // Every offset below this has been covered by a successful fdatasync.
  int64_t durable_offset() const { return commit_->durable_offset(); }
  // The backend chosen at open: kIoUring or kPwritev.
  IoBackendKind io_backend() const { return io_->kind(); }
  const LogOpenInfo& open_info() const { return open_info_; }

  int64_t start_offset() const { return start_offset_.load(std::memory_order_acquire); }
  int64_t end_offset() const { return end_offset_.load(std::memory_order_acquire); }
  std::vector<int64_t> SegmentBaseOffsets() const;
  int64_t SizeBytes() const;

  // Epoch stamped into PartitionLeaderEpoch of appended batches (default 0).
  void set_leader_epoch(int32_t epoch) { leader_epoch_.store(epoch); }
  int32_t leader_epoch() const { return leader_epoch_.load(); }

  const std::string& dir() const { return dir_; }
  const LogConfig& config() const { return options_.config; }

 private:
  Log(std::string dir, const LogOptions& options);

  // A batch written but not yet acknowledged.
  struct PendingAppend {
    AppendInfo info;
    bool lead = false;  // carries the group commit's linked sync
    PendingSync sync;
    std::shared_ptr<File> file;  // pinned: a roll may seal the segment before the sync is reaped
  };

  absl::Status Load();
  // Opens the segments after an unclean shutdown, scanning from the recovery point.
  absl::Status RecoverSegments(const std::vector<int64_t>& bases, int64_t recovery_point);
  absl::Status WriteCleanShutdown();
  int64_t NowMs() const;
  // Encodes `records` into one batch in *out (BaseOffset 0), using `builder`. Needs no lock.
  absl::Status BuildBatch(absl::Span<const RecordToAppend> records, BatchBuilder* builder,
                          std::string* out) const;
  absl::Status AppendLocked(absl::Span<char> batch, BatchHeader header, bool may_lead,
                            PendingAppend* pending);
  // Collects the linked sync and waits as the mode requires.
  absl::StatusOr<AppendInfo> Acknowledge(PendingAppend* pending);
  void AcknowledgeAsync(PendingAppend* pending, AppendCallback done);
  void AfterAppend();
  absl::StatusOr<RetentionResult> RetainLocked(int64_t upper_bound);
  // Seals the active segment and starts a new one at `new_base_offset`; returns it.
  absl::StatusOr<Segment*> Roll(int64_t new_base_offset);
  // Collects whole batches of `seg` from `location` into *result within the budget and bound;
  // returns true when the read is complete (budget or bound reached).
  absl::StatusOr<bool> CollectFromSegment(const std::shared_ptr<Segment>& seg,
                                          const BatchLocation& location, int64_t max_bytes,
                                          int64_t bound, ReadResult* result) const;

  const std::string dir_;
  const LogOptions options_;

  // Serializes appenders (and Truncate/Close). Held before structure_mu_.
  std::mutex append_mu_;
  // Readers hold it shared for a whole Read; rolls, truncation and close hold it exclusively.
  // (std:: rather than absl:: mutexes: Debian's Abseil is not built for ThreadSanitizer, which
  // then cannot see its synchronization.)
  mutable std::shared_mutex structure_mu_;
  // Guarded by structure_mu_; changed only with append_mu_ held as well, so the appender may
  // read them holding append_mu_ alone.
  std::vector<std::shared_ptr<Segment>> segments_;
  bool closed_ = false;

  std::atomic<int64_t> start_offset_{0};
  std::atomic<int64_t> end_offset_{0};
  std::atomic<int32_t> leader_epoch_{0};
  LogOpenInfo open_info_;
  std::shared_ptr<IoBackend> io_;
  std::shared_ptr<GroupCommit> commit_;
  // Writes the recovery-point checkpoint; shared with background tasks.
  std::shared_ptr<OffsetCheckpoint> recovery_checkpoint_;
  std::unique_ptr<OffsetCheckpoint> start_checkpoint_;
};

// Iterates batches and their records from a start offset. Not thread-safe; use one per thread.
// Views returned by NextBatch/NextRecord stay valid until the next call.
class LogReader {
 public:
  // The next whole batch (it may begin before the start offset). False at the end or on error.
  bool NextBatch(BatchView* batch);
  // The next record at or after the start offset. Compressed batches stop the iteration with
  // Unimplemented (decoding them is the dump tool's job).
  bool NextRecord(RecordView* record);
  // Ok at a clean end; otherwise why iteration stopped.
  const absl::Status& status() const { return status_; }
  // The offset the next batch would start from.
  int64_t next_offset() const { return next_offset_; }

  // How many bytes one underlying Read() asks for.
  static constexpr int64_t kChunkBytes = 1 << 20;

 private:
  friend class Log;
  LogReader(const Log* log, int64_t offset, std::optional<int64_t> upper_bound)
      : log_(log), start_offset_(offset), next_offset_(offset), upper_bound_(upper_bound) {}
  bool Fill();

  const Log* log_;
  int64_t start_offset_;
  int64_t next_offset_;
  std::optional<int64_t> upper_bound_;
  // The current chunk; grows to the largest chunk read, never shrinks or gets cleared.
  std::unique_ptr<char[]> buffer_;
  size_t buffer_capacity_ = 0;
  std::optional<BatchIterator> batches_;
  std::optional<RecordIterator> records_;
  absl::Status status_;
};

}  // namespace varve
