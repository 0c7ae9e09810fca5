#include "log/segment.h"

#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace varve {

std::string SegmentFileStem(int64_t base_offset) { return absl::StrFormat("%020d", base_offset); }

std::optional<int64_t> ParseSegmentLogFileName(absl::string_view name) {
  constexpr absl::string_view kSuffix = ".log";
  if (name.size() != 20 + kSuffix.size() || name.substr(20) != kSuffix) return std::nullopt;
  int64_t value = 0;
  for (char c : name.substr(0, 20)) {
    if (!absl::ascii_isdigit(c)) return std::nullopt;
    if (value > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

const char* RollReasonName(RollReason reason) {
  switch (reason) {
    case RollReason::kNone:
      return "none";
    case RollReason::kSize:
      return "size";
    case RollReason::kTime:
      return "time";
    case RollReason::kIndexFull:
      return "index_full";
    case RollReason::kOffsetOverflow:
      return "offset_overflow";
  }
  return "unknown";
}

Segment::Segment(FileSystem* fs, std::string dir, int64_t base_offset, const LogConfig& config,
                 int64_t now_ms)
    : fs_(fs),
      dir_(std::move(dir)),
      base_offset_(base_offset),
      config_(config),
      created_ms_(now_ms),
      next_offset_(base_offset),
      offset_of_max_timestamp_(base_offset) {}

Segment::~Segment() = default;

std::string Segment::PathFor(absl::string_view suffix) const {
  return JoinPath(dir_, absl::StrCat(SegmentFileStem(base_offset_), suffix));
}

absl::Status Segment::OpenIndexes(bool writable) {
  ASSIGN_OR_RETURN(offset_index_, OffsetIndex::Open(fs_, PathFor(".index"), base_offset_,
                                                    config_.segment_index_bytes, writable));
  ASSIGN_OR_RETURN(time_index_, TimeIndex::Open(fs_, PathFor(".timeindex"), base_offset_,
                                                config_.segment_index_bytes, writable));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::Create(FileSystem* fs, const std::string& dir,
                                                         int64_t base_offset,
                                                         const LogConfig& config, int64_t now_ms) {
  std::shared_ptr<Segment> seg(new Segment(fs, dir, base_offset, config, now_ms));
  ASSIGN_OR_RETURN(seg->log_, fs->Open(seg->PathFor(".log"), OpenMode::kCreate));
  RETURN_IF_ERROR(seg->log_->Truncate(0));
  // Index files left behind by an earlier segment of the same name describe other data.
  for (absl::string_view suffix : {".index", ".timeindex"}) {
    std::string path = seg->PathFor(suffix);
    ASSIGN_OR_RETURN(bool exists, fs->Exists(path));
    if (exists) RETURN_IF_ERROR(fs->Remove(path));
  }
  RETURN_IF_ERROR(seg->OpenIndexes(/*writable=*/true));
  return seg;
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::Open(FileSystem* fs, const std::string& dir,
                                                       int64_t base_offset, const LogConfig& config,
                                                       bool active, int64_t now_ms) {
  std::shared_ptr<Segment> seg(new Segment(fs, dir, base_offset, config, now_ms));
  ASSIGN_OR_RETURN(seg->log_, fs->Open(seg->PathFor(".log"), OpenMode::kReadWrite));
  ASSIGN_OR_RETURN(int64_t file_size, seg->log_->Size());
  seg->size_.store(file_size, std::memory_order_release);
  if (active) {
    // The caller recovers (scans) an active segment, which rebuilds both indexes anyway.
    RETURN_IF_ERROR(seg->OpenIndexes(/*writable=*/true));
    return seg;
  }
  seg->sealed_ = true;
  absl::Status indexes = absl::OkStatus();
  for (absl::string_view suffix : {".index", ".timeindex"}) {
    ASSIGN_OR_RETURN(bool exists, fs->Exists(seg->PathFor(suffix)));
    if (!exists) indexes = absl::NotFoundError(seg->PathFor(suffix));
  }
  if (indexes.ok()) indexes = seg->OpenIndexes(/*writable=*/false);
  if (indexes.ok()) indexes = seg->offset_index_->SanityCheck();
  if (indexes.ok()) indexes = seg->time_index_->SanityCheck();
  // A sealed non-empty segment always ends its time index with its max timestamp.
  if (indexes.ok() && file_size > 0 && seg->time_index_->entries() == 0) {
    indexes = absl::DataLossError(absl::StrCat(seg->PathFor(".timeindex"), " is empty"));
  }
  if (!indexes.ok() && !absl::IsNotFound(indexes) && !absl::IsDataLoss(indexes)) return indexes;
  if (!indexes.ok()) {
    // Missing or corrupt index: rebuild it from the data, then seal again (reference §2.9).
    seg->sealed_ = false;
    seg->offset_index_.reset();
    seg->time_index_.reset();
    for (absl::string_view suffix : {".index", ".timeindex"}) {
      std::string path = seg->PathFor(suffix);
      ASSIGN_OR_RETURN(bool exists, fs->Exists(path));
      if (exists) RETURN_IF_ERROR(fs->Remove(path));
    }
    RETURN_IF_ERROR(seg->OpenIndexes(/*writable=*/true));
    ASSIGN_OR_RETURN(int64_t invalid, seg->Recover(/*truncate_invalid_tail=*/false));
    if (invalid > 0) {
      return absl::DataLossError(absl::StrCat(
          "sealed segment ", seg->log_path(), " is corrupt at byte ", seg->size(), ": ", invalid,
          " bytes from there on are not valid batches (its index needed a rebuild: ",
          indexes.message(), ")"));
    }
    RETURN_IF_ERROR(seg->Seal());
    return seg;
  }
  RETURN_IF_ERROR(seg->ReloadTailState());
  return seg;
}

RollReason Segment::ShouldRoll(const BatchHeader& incoming, int64_t now_ms) const {
  const int64_t size = size_.load(std::memory_order_relaxed);
  if (size > config_.segment_bytes - incoming.size_bytes()) return RollReason::kSize;
  if (size > 0) {
    int64_t waited = rolling_base_timestamp_ >= 0 ? incoming.max_timestamp - rolling_base_timestamp_
                                                  : now_ms - created_ms_;
    if (waited > config_.segment_ms - config_.segment_jitter_ms) return RollReason::kTime;
  }
  if (offset_index_->IsFull() || time_index_->IsFull()) return RollReason::kIndexFull;
  if (incoming.last_offset() - base_offset_ > std::numeric_limits<int32_t>::max()) {
    return RollReason::kOffsetOverflow;
  }
  return RollReason::kNone;
}

absl::Status Segment::IndexBatch(const BatchHeader& header, int64_t position) {
  if (header.max_timestamp > max_timestamp_.load(std::memory_order_relaxed)) {
    offset_of_max_timestamp_.store(header.last_offset(), std::memory_order_relaxed);
    max_timestamp_.store(header.max_timestamp, std::memory_order_relaxed);
  }
  // Kafka's rule (reference §2.3): the counter is checked before this batch is added, so the
  // first batch of a segment never gets an entry, and the entry names the batch's last offset.
  if (bytes_since_last_index_entry_ > config_.index_interval_bytes) {
    RETURN_IF_ERROR(offset_index_->Append(header.last_offset(), position));
    RETURN_IF_ERROR(time_index_->MaybeAppend(max_timestamp_.load(std::memory_order_relaxed),
                                             offset_of_max_timestamp_.load()));
    bytes_since_last_index_entry_ = 0;
  }
  bytes_since_last_index_entry_ += header.size_bytes();
  return absl::OkStatus();
}

absl::Status Segment::Append(absl::string_view batch, const BatchHeader& header) {
  if (sealed_) {
    return absl::FailedPreconditionError(absl::StrCat("append to sealed segment ", log_path()));
  }
  assert(header.base_offset >= next_offset_);
  assert(static_cast<int64_t>(batch.size()) == header.size_bytes());
  const int64_t position = size_.load(std::memory_order_relaxed);
  absl::Status written = log_->Write(position, batch);
  if (!written.ok()) {
    // Whatever prefix landed is not part of the log; cut it so the next append starts clean.
    log_->Truncate(position).IgnoreError();
    return written;
  }
  if (position == 0) rolling_base_timestamp_ = header.max_timestamp;
  RETURN_IF_ERROR(IndexBatch(header, position));
  next_offset_ = header.last_offset() + 1;
  size_.store(position + header.size_bytes(), std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<BatchHeader> Segment::ReadBatchHeader(int64_t position, int64_t limit) const {
  char buf[kBatchHeaderSize];
  if (limit - position < kBatchHeaderSize) {
    return absl::DataLossError(absl::StrCat(log_path(), ": batch at byte ", position,
                                            " is cut off: only ", limit - position,
                                            " bytes before the end at ", limit));
  }
  RETURN_IF_ERROR(log_->ReadExact(position, absl::MakeSpan(buf)));
  BatchHeader h = DecodeBatchHeader(buf);
  if (h.magic != kMagicV2) {
    return absl::DataLossError(absl::StrCat(log_path(), ": batch at byte ", position, " has magic ",
                                            h.magic, ", expected 2"));
  }
  if (h.size_bytes() < kBatchHeaderSize || h.size_bytes() > limit - position) {
    return absl::DataLossError(absl::StrCat(log_path(), ": batch at byte ", position,
                                            " has invalid length ", h.batch_length,
                                            " (segment data ends at byte ", limit, ")"));
  }
  return h;
}

std::optional<OffsetPosition> Segment::IndexEntryAtOrBefore(int64_t position) const {
  // Index positions increase with offsets, so a binary search over entries works.
  int lo = 0, hi = offset_index_->entries();
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (offset_index_->EntryAt(mid).position <= position) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return std::nullopt;
  return offset_index_->EntryAt(lo - 1);
}

absl::StatusOr<std::optional<BatchLocation>> Segment::FindBatch(int64_t offset,
                                                                int64_t limit) const {
  int64_t position = offset_index_->Lookup(offset).position;
  while (position < limit) {
    ASSIGN_OR_RETURN(BatchHeader h, ReadBatchHeader(position, limit));
    if (h.last_offset() >= offset) return BatchLocation{position, h};
    position += h.size_bytes();
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<BatchLocation>> Segment::FindBatchForTimestamp(int64_t timestamp,
                                                                            int64_t limit) const {
  const int64_t offset = time_index_->Lookup(timestamp).offset;
  ASSIGN_OR_RETURN(std::optional<BatchLocation> loc, FindBatch(offset, limit));
  while (loc.has_value()) {
    if (loc->header.max_timestamp >= timestamp) return loc;
    int64_t next = loc->position + loc->header.size_bytes();
    if (next >= limit) break;
    ASSIGN_OR_RETURN(BatchHeader h, ReadBatchHeader(next, limit));
    loc = BatchLocation{next, h};
  }
  return std::nullopt;
}

TimestampOffset Segment::max_timestamp() const {
  return TimestampOffset{max_timestamp_.load(std::memory_order_relaxed),
                         offset_of_max_timestamp_.load(std::memory_order_relaxed)};
}

absl::StatusOr<int64_t> Segment::Recover(bool truncate_invalid_tail) {
  offset_index_->Reset();
  time_index_->Reset();
  bytes_since_last_index_entry_ = 0;
  max_timestamp_.store(kNoTimestamp);
  offset_of_max_timestamp_.store(base_offset_);
  rolling_base_timestamp_ = kNoTimestamp;
  next_offset_ = base_offset_;
  sealed_ = false;

  ASSIGN_OR_RETURN(const int64_t file_size, log_->Size());
  int64_t position = 0;
  std::string buf;
  while (true) {
    // Fewer bytes than a batch header: a torn tail (or the clean end when zero remain).
    if (file_size - position < kBatchHeaderSize) break;
    buf.resize(kBatchHeaderSize);
    RETURN_IF_ERROR(log_->ReadExact(position, absl::MakeSpan(buf)));
    BatchHeader h = DecodeBatchHeader(buf.data());
    // Zeros from a preallocated or torn tail fail here: length 0 and magic 0 are invalid.
    if (h.magic != kMagicV2 || h.size_bytes() < kBatchHeaderSize) break;
    if (h.size_bytes() > file_size - position) break;  // torn tail: the batch never completed
    if (h.base_offset < next_offset_ || h.last_offset_delta < 0 ||
        h.last_offset() - base_offset_ > std::numeric_limits<int32_t>::max()) {
      break;
    }
    buf.resize(h.size_bytes());
    RETURN_IF_ERROR(log_->ReadExact(position, absl::MakeSpan(buf)));
    if (ComputeBatchCrc(buf) != h.crc) break;
    if (position == 0) rolling_base_timestamp_ = h.max_timestamp;
    RETURN_IF_ERROR(IndexBatch(h, position));
    next_offset_ = h.last_offset() + 1;
    position += h.size_bytes();
  }
  if (position < file_size && truncate_invalid_tail) RETURN_IF_ERROR(log_->Truncate(position));
  size_.store(position, std::memory_order_release);
  return file_size - position;
}

absl::Status Segment::ReloadTailState() {
  // The time index's last entry holds the max timestamp up to the last indexed batch; the
  // batches after it are scanned (at most about index.interval.bytes of headers).
  TimestampOffset last = time_index_->LastEntry();
  max_timestamp_.store(last.timestamp);
  offset_of_max_timestamp_.store(last.offset);
  next_offset_ = base_offset_;
  rolling_base_timestamp_ = kNoTimestamp;
  const int64_t limit = size();
  if (limit == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(BatchHeader first, ReadBatchHeader(0, limit));
  rolling_base_timestamp_ = first.max_timestamp;
  int64_t position = offset_index_->LastEntry().position;
  while (position < limit) {
    ASSIGN_OR_RETURN(BatchHeader h, ReadBatchHeader(position, limit));
    if (h.max_timestamp > max_timestamp_.load()) {
      max_timestamp_.store(h.max_timestamp);
      offset_of_max_timestamp_.store(h.last_offset());
    }
    next_offset_ = h.last_offset() + 1;
    position += h.size_bytes();
  }
  return absl::OkStatus();
}

absl::Status Segment::Seal() {
  if (sealed_) return absl::OkStatus();
  TimestampOffset max = max_timestamp();
  if (max.timestamp != kNoTimestamp) {
    RETURN_IF_ERROR(time_index_->MaybeAppend(max.timestamp, max.offset, /*skip_full_check=*/true));
  }
  RETURN_IF_ERROR(offset_index_->Seal());
  RETURN_IF_ERROR(time_index_->Seal());
  sealed_ = true;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Segment::TruncateTo(int64_t offset) {
  const int64_t old_size = size();
  ASSIGN_OR_RETURN(std::optional<BatchLocation> first_removed, FindBatch(offset, old_size));
  if (sealed_) {
    RETURN_IF_ERROR(offset_index_->MakeWritable(config_.segment_index_bytes));
    RETURN_IF_ERROR(time_index_->MakeWritable(config_.segment_index_bytes));
    sealed_ = false;
  }
  if (!first_removed.has_value()) return 0;
  const int64_t new_size = first_removed->position;
  offset_index_->TruncateTo(offset);
  time_index_->TruncateTo(offset);
  RETURN_IF_ERROR(log_->Truncate(new_size));
  size_.store(new_size, std::memory_order_release);
  bytes_since_last_index_entry_ = 0;
  RETURN_IF_ERROR(ReloadTailState());
  return old_size - new_size;
}

absl::Status Segment::Close() {
  absl::Status status;
  if (!sealed_) {
    // Like Kafka: the final time-index entry, then trimmed indexes, so a reopen finds them.
    TimestampOffset max = max_timestamp();
    if (max.timestamp != kNoTimestamp) {
      status.Update(time_index_->MaybeAppend(max.timestamp, max.offset, true));
    }
  }
  status.Update(offset_index_->Close());
  status.Update(time_index_->Close());
  sealed_ = true;
  return status;
}

absl::Status Segment::DeleteFiles() {
  absl::Status status;
  for (absl::string_view suffix : {".log", ".index", ".timeindex"}) {
    absl::Status s = fs_->Remove(PathFor(suffix));
    if (!absl::IsNotFound(s)) status.Update(s);
  }
  return status;
}

}  // namespace varve
