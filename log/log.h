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
// Durability: appends reach the operating system's page cache (Kafka's default): they survive
// a process crash but not a power loss. Named durability modes arrive with docs/durability.md.
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
#include "log/log_config.h"
#include "log/record_batch.h"
#include "log/segment.h"

namespace varve {

struct LogOptions {
  LogConfig config;
  FileSystem* fs = PosixFileSystem();
  // Milliseconds since the epoch; tests substitute a fake clock. Used for record timestamps
  // left unset and for time-based rolling of segments without timestamps.
  std::function<int64_t()> now_ms;
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
struct FileSlice {
  std::shared_ptr<const Segment> segment;  // keeps the file open, even if the segment is deleted
  int64_t position = 0;                    // byte position in the segment's .log file
  int64_t size = 0;
  int64_t first_offset = 0;  // base offset of the first batch
  int64_t last_offset = 0;   // last offset of the last batch

  int fd() const { return segment->log_file()->fd(); }
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

  // Builds one uncompressed batch from `records` (at least one) and appends it.
  absl::StatusOr<AppendInfo> Append(absl::Span<const RecordToAppend> records);

  // Appends one pre-built RecordBatch v2 (possibly compressed). The batch is validated (length,
  // magic, CRC, counts, and the records of uncompressed batches); the log assigns its offsets by
  // rewriting BaseOffset and stamps PartitionLeaderEpoch with leader_epoch() — both fields lie
  // outside the CRC — and changes nothing else.
  absl::StatusOr<AppendInfo> AppendBatch(absl::Span<char> batch);

  // Whole batches starting with the one that holds `offset`, up to `max_bytes` in total but at
  // least one whole batch, and only batches whose last offset is below `upper_bound` (default
  // and maximum: end_offset()). The first batch may begin before `offset`; skip its leading
  // records. OutOfRange unless start_offset() <= offset <= end_offset().
  absl::StatusOr<ReadResult> Read(int64_t offset, int64_t max_bytes,
                                  std::optional<int64_t> upper_bound = std::nullopt) const;

  // Iterates batches and records from `offset` up to `upper_bound` (default: the end offset
  // when each chunk is read, so a reader keeps seeing new appends).
  LogReader NewReader(int64_t offset, std::optional<int64_t> upper_bound = std::nullopt) const;

  // The first record whose timestamp is >= `timestamp` (ListOffsets by time), or nullopt if
  // every record is older. For a compressed batch, which the engine does not decode, the answer
  // is the batch's base offset and MaxTimestamp.
  absl::StatusOr<std::optional<TimestampAndOffset>> OffsetForTimestamp(int64_t timestamp) const;

  // Removes every batch whose last offset is >= `offset` (a batch straddling `offset` is removed
  // whole), deleting later segments. Afterwards end_offset() <= offset. Truncating below
  // start_offset() empties the log and restarts it at `offset`.
  absl::Status Truncate(int64_t offset);

  // Stops appends and reads; trims the active segment's indexes. Idempotent.
  absl::Status Close();

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

  absl::Status Load();
  int64_t NowMs() const;
  absl::StatusOr<AppendInfo> AppendValidated(absl::Span<char> batch, BatchHeader header);
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
  // Guarded by append_mu_.
  BatchBuilder builder_;
  std::string build_buffer_;
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
  std::string buffer_;
  std::optional<BatchIterator> batches_;
  std::optional<RecordIterator> records_;
  absl::Status status_;
};

}  // namespace varve
