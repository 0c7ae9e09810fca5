#include "log/log.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "log/batch_validator.h"

namespace varve {

absl::Status FileSlice::AppendTo(std::string* out) const {
  const size_t old_size = out->size();
  out->resize(old_size + size);
  absl::Status s = segment->log_file()->ReadExact(position, absl::MakeSpan(*out).subspan(old_size));
  if (!s.ok()) out->resize(old_size);
  return s;
}

absl::Status ReadResult::AppendTo(std::string* out) const {
  out->reserve(out->size() + size_bytes);
  for (const FileSlice& slice : slices) RETURN_IF_ERROR(slice.AppendTo(out));
  return absl::OkStatus();
}

Log::Log(std::string dir, const LogOptions& options) : dir_(std::move(dir)), options_(options) {}

Log::~Log() { Close().IgnoreError(); }

int64_t Log::NowMs() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<std::unique_ptr<Log>> Log::Open(const std::string& dir, const LogOptions& options) {
  RETURN_IF_ERROR(options.config.Validate());
  std::unique_ptr<Log> log(new Log(dir, options));
  RETURN_IF_ERROR(log->Load());
  return log;
}

absl::Status Log::Load() {
  FileSystem* fs = options_.fs;
  RETURN_IF_ERROR(fs->CreateDir(dir_));
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir_));
  std::vector<int64_t> bases;
  for (const std::string& name : names) {
    if (std::optional<int64_t> base = ParseSegmentLogFileName(name)) bases.push_back(*base);
  }
  // Index files without their .log are leftovers of a deleted segment (reference §2.9).
  for (const std::string& name : names) {
    for (absl::string_view suffix : {".index", ".timeindex"}) {
      if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) continue;
      std::optional<int64_t> base = ParseSegmentLogFileName(name.substr(0, 20) + ".log");
      if (base && std::find(bases.begin(), bases.end(), *base) == bases.end()) {
        RETURN_IF_ERROR(fs->Remove(JoinPath(dir_, name)));
      }
    }
  }
  std::sort(bases.begin(), bases.end());
  const int64_t now = NowMs();

  std::lock_guard append_lock(append_mu_);
  std::unique_lock structure_lock(structure_mu_);
  if (bases.empty()) {
    ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                     Segment::Create(fs, dir_, /*base_offset=*/0, options_.config, now));
    segments_.push_back(std::move(seg));
  } else {
    for (size_t i = 0; i < bases.size(); ++i) {
      const bool active = i + 1 == bases.size();
      ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                       Segment::Open(fs, dir_, bases[i], options_.config, active, now));
      if (active) RETURN_IF_ERROR(seg->Recover().status());
      if (!segments_.empty() && segments_.back()->next_offset() > seg->base_offset()) {
        return absl::DataLossError(
            absl::StrCat("segment ", segments_.back()->log_path(), " holds offsets up to ",
                         segments_.back()->next_offset() - 1, ", overlapping the next segment ",
                         seg->log_path()));
      }
      segments_.push_back(std::move(seg));
    }
  }
  start_offset_.store(segments_.front()->base_offset(), std::memory_order_release);
  end_offset_.store(segments_.back()->next_offset(), std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<AppendInfo> Log::Append(absl::Span<const RecordToAppend> records) {
  if (records.empty()) return absl::InvalidArgumentError("Append needs at least one record");
  std::lock_guard lock(append_mu_);
  const int64_t now = NowMs();
  builder_.Reset(BatchBuilder::Options());
  for (const RecordToAppend& r : records) {
    builder_.Add(r.timestamp == kNoTimestamp ? now : r.timestamp, r.key, r.value, r.headers);
  }
  builder_.BuildInto(&build_buffer_);
  if (static_cast<int64_t>(build_buffer_.size()) > options_.config.max_message_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch of ", records.size(), " records is ", build_buffer_.size(),
                     " bytes, above max.message.bytes=", options_.config.max_message_bytes));
  }
  return AppendValidated(absl::MakeSpan(build_buffer_), DecodeBatchHeader(build_buffer_.data()));
}

absl::StatusOr<AppendInfo> Log::AppendBatch(absl::Span<char> batch) {
  ValidationOptions validation;
  validation.max_message_bytes = options_.config.max_message_bytes;
  validation.from_client = false;
  BatchHeader header;
  BatchCheck check =
      ValidateBatch(absl::string_view(batch.data(), batch.size()), validation, &header);
  if (!check.ok()) return check.ToStatus();
  std::lock_guard lock(append_mu_);
  return AppendValidated(batch, header);
}

absl::StatusOr<AppendInfo> Log::AppendValidated(absl::Span<char> batch, BatchHeader header) {
  // segments_ only changes under append_mu_, which we hold, so `active` stays valid.
  Segment* active;
  {
    std::shared_lock l(structure_mu_);
    if (closed_) return absl::FailedPreconditionError(absl::StrCat("log ", dir_, " is closed"));
    active = segments_.back().get();
  }
  if (header.size_bytes() > options_.config.segment_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch of ", header.size_bytes(), " bytes cannot fit in a segment of ",
                     "segment.bytes=", options_.config.segment_bytes, " (RECORD_LIST_TOO_LARGE)"));
  }
  const int64_t base_offset = end_offset_.load(std::memory_order_relaxed);
  SetBaseOffset(batch.data(), base_offset);
  SetPartitionLeaderEpoch(batch.data(), leader_epoch_.load());
  header.base_offset = base_offset;
  header.partition_leader_epoch = leader_epoch_.load();

  const int64_t now = NowMs();
  AppendInfo info;
  info.roll = active->ShouldRoll(header, now);
  if (info.roll != RollReason::kNone) {
    ASSIGN_OR_RETURN(active, Roll(base_offset));
  }
  RETURN_IF_ERROR(active->Append(absl::string_view(batch.data(), batch.size()), header));
  end_offset_.store(header.last_offset() + 1, std::memory_order_release);
  info.base_offset = base_offset;
  info.last_offset = header.last_offset();
  info.max_timestamp = header.max_timestamp;
  info.size_bytes = header.size_bytes();
  return info;
}

absl::StatusOr<Segment*> Log::Roll(int64_t new_base_offset) {
  ASSIGN_OR_RETURN(std::shared_ptr<Segment> next,
                   Segment::Create(options_.fs, dir_, new_base_offset, options_.config, NowMs()));
  std::unique_lock l(structure_mu_);
  absl::Status sealed = segments_.back()->Seal();
  if (!sealed.ok()) {
    next->DeleteFiles().IgnoreError();
    return sealed;
  }
  segments_.push_back(std::move(next));
  return segments_.back().get();
}

absl::StatusOr<bool> Log::CollectFromSegment(const std::shared_ptr<Segment>& seg,
                                             const BatchLocation& location, int64_t max_bytes,
                                             int64_t bound, ReadResult* result) const {
  const int64_t limit = seg->size();
  const int64_t start = location.position;
  int64_t position = start;
  int64_t last_offset = -1;
  BatchHeader header = location.header;
  while (true) {
    if (header.last_offset() >= bound) break;
    // At least one whole batch, however large; after that, only what fits the budget.
    if (result->size_bytes + (position - start) > 0 &&
        result->size_bytes + (position - start) + header.size_bytes() > max_bytes) {
      break;
    }
    last_offset = header.last_offset();
    position += header.size_bytes();
    // Jump over whole batches through the index instead of reading every header: batches
    // before an entry's position all end below the entry's offset.
    std::optional<OffsetPosition> jump =
        seg->IndexEntryAtOrBefore(start + (max_bytes - result->size_bytes));
    if (jump && jump->position > position && jump->offset < bound) {
      position = jump->position;
      ASSIGN_OR_RETURN(header, seg->ReadBatchHeader(position, limit));
      // The batch before the jump target ends just below the target's base offset.
      last_offset = header.base_offset - 1;
      continue;
    }
    if (position >= limit) break;
    ASSIGN_OR_RETURN(header, seg->ReadBatchHeader(position, limit));
  }
  if (position > start) {
    result->slices.push_back(
        FileSlice{seg, start, position - start, location.header.base_offset, last_offset});
    result->size_bytes += position - start;
  }
  // Complete unless we ran off the end of this segment's data.
  return position < limit;
}

absl::StatusOr<ReadResult> Log::Read(int64_t offset, int64_t max_bytes,
                                     std::optional<int64_t> upper_bound) const {
  std::shared_lock l(structure_mu_);
  if (closed_) return absl::FailedPreconditionError(absl::StrCat("log ", dir_, " is closed"));
  ReadResult result;
  result.log_end_offset = end_offset_.load(std::memory_order_acquire);
  result.log_start_offset = start_offset_.load(std::memory_order_acquire);
  if (offset < result.log_start_offset || offset > result.log_end_offset) {
    return absl::OutOfRangeError(absl::StrCat("offset ", offset, " is outside log ", dir_, " [",
                                              result.log_start_offset, ", ", result.log_end_offset,
                                              "]"));
  }
  const int64_t bound =
      std::min(upper_bound.value_or(result.log_end_offset), result.log_end_offset);
  if (offset >= bound) return result;
  // The last segment whose base offset is <= offset.
  auto it = std::upper_bound(
      segments_.begin(), segments_.end(), offset,
      [](int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
  if (it != segments_.begin()) --it;
  for (; it != segments_.end(); ++it) {
    const std::shared_ptr<Segment>& seg = *it;
    ASSIGN_OR_RETURN(std::optional<BatchLocation> location, seg->FindBatch(offset, seg->size()));
    if (!location) continue;
    ASSIGN_OR_RETURN(bool done, CollectFromSegment(seg, *location, max_bytes, bound, &result));
    if (done) break;
  }
  return result;
}

LogReader Log::NewReader(int64_t offset, std::optional<int64_t> upper_bound) const {
  return LogReader(this, offset, upper_bound);
}

absl::StatusOr<std::optional<TimestampAndOffset>> Log::OffsetForTimestamp(int64_t timestamp) const {
  std::shared_lock l(structure_mu_);
  if (closed_) return absl::FailedPreconditionError(absl::StrCat("log ", dir_, " is closed"));
  const int64_t end = end_offset_.load(std::memory_order_acquire);
  for (const std::shared_ptr<Segment>& seg : segments_) {
    if (seg->max_timestamp().timestamp < timestamp) continue;
    ASSIGN_OR_RETURN(std::optional<BatchLocation> loc,
                     seg->FindBatchForTimestamp(timestamp, seg->size()));
    if (!loc || loc->header.base_offset >= end) continue;
    if (loc->header.compression() != Compression::kNone) {
      return TimestampAndOffset{loc->header.max_timestamp, loc->header.base_offset};
    }
    std::string bytes(loc->header.size_bytes(), '\0');
    RETURN_IF_ERROR(seg->log_file()->ReadExact(loc->position, absl::MakeSpan(bytes)));
    RecordIterator records(bytes);
    RecordView r;
    while (records.Next(&r)) {
      if (r.timestamp >= timestamp) return TimestampAndOffset{r.timestamp, r.offset};
    }
    RETURN_IF_ERROR(records.status());
    // MaxTimestamp >= timestamp but no record is: a producer wrote an inconsistent header.
    return TimestampAndOffset{loc->header.max_timestamp, loc->header.base_offset};
  }
  return std::nullopt;
}

absl::Status Log::Truncate(int64_t offset) {
  std::lock_guard append_lock(append_mu_);
  std::unique_lock l(structure_mu_);
  if (closed_) return absl::FailedPreconditionError(absl::StrCat("log ", dir_, " is closed"));
  if (offset >= end_offset_.load()) return absl::OkStatus();
  // Segments entirely at or above `offset` go; the one holding `offset` is cut and becomes
  // active.
  while (!segments_.empty() && segments_.back()->base_offset() >= offset &&
         (segments_.size() > 1 || segments_.back()->base_offset() > offset)) {
    RETURN_IF_ERROR(segments_.back()->DeleteFiles());
    segments_.pop_back();
  }
  if (segments_.empty()) {
    // Below the log start: restart the log at `offset`.
    ASSIGN_OR_RETURN(std::shared_ptr<Segment> fresh,
                     Segment::Create(options_.fs, dir_, offset, options_.config, NowMs()));
    segments_.push_back(std::move(fresh));
    start_offset_.store(offset, std::memory_order_release);
  } else {
    RETURN_IF_ERROR(segments_.back()->TruncateTo(offset).status());
  }
  end_offset_.store(segments_.back()->next_offset(), std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Log::Close() {
  std::lock_guard append_lock(append_mu_);
  std::unique_lock l(structure_mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  absl::Status status;
  for (const std::shared_ptr<Segment>& seg : segments_) status.Update(seg->Close());
  segments_.clear();
  return status;
}

std::vector<int64_t> Log::SegmentBaseOffsets() const {
  std::shared_lock l(structure_mu_);
  std::vector<int64_t> bases;
  for (const std::shared_ptr<Segment>& seg : segments_) bases.push_back(seg->base_offset());
  return bases;
}

int64_t Log::SizeBytes() const {
  std::shared_lock l(structure_mu_);
  int64_t total = 0;
  for (const std::shared_ptr<Segment>& seg : segments_) total += seg->size();
  return total;
}

bool LogReader::Fill() {
  records_.reset();
  batches_.reset();
  buffer_.clear();
  absl::StatusOr<ReadResult> read = log_->Read(next_offset_, kChunkBytes, upper_bound_);
  if (!read.ok()) {
    status_ = read.status();
    return false;
  }
  if (read->empty()) return false;
  if (absl::Status s = read->AppendTo(&buffer_); !s.ok()) {
    status_ = s;
    return false;
  }
  batches_.emplace(buffer_, read->slices.front().position);
  return true;
}

bool LogReader::NextBatch(BatchView* batch) {
  if (!status_.ok()) return false;
  records_.reset();
  while (true) {
    if (batches_ && batches_->Next(batch)) {
      next_offset_ = batch->header.last_offset() + 1;
      return true;
    }
    if (batches_ && !batches_->status().ok()) {
      status_ = batches_->status();
      return false;
    }
    if (!Fill()) return false;
  }
}

bool LogReader::NextRecord(RecordView* record) {
  while (true) {
    if (records_) {
      while (records_->Next(record)) {
        if (record->offset >= start_offset_) return true;
      }
      if (!records_->status().ok()) {
        status_ = records_->status();
        return false;
      }
      records_.reset();
    }
    BatchView batch;
    if (!NextBatch(&batch)) return false;
    records_.emplace(batch.bytes);
  }
}

}  // namespace varve
