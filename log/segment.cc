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
      log_path_(JoinPath(dir_, absl::StrCat(SegmentFileStem(base_offset), ".log"))),
      next_offset_(base_offset),
      offset_of_max_timestamp_(base_offset) {}

Segment::~Segment() = default;

std::string Segment::PathFor(absl::string_view suffix) const {
  return JoinPath(dir_, absl::StrCat(SegmentFileStem(base_offset_), suffix));
}

absl::Status Segment::OpenIndexes(SegmentFiles* files, bool writable) const {
  ASSIGN_OR_RETURN(files->offset_index, OffsetIndex::Open(fs_, PathFor(".index"), base_offset_,
                                                          config_.segment_index_bytes, writable));
  ASSIGN_OR_RETURN(files->time_index, TimeIndex::Open(fs_, PathFor(".timeindex"), base_offset_,
                                                      config_.segment_index_bytes, writable));
  return absl::OkStatus();
}

void Segment::SetActive(std::shared_ptr<SegmentFiles> files) {
  std::lock_guard lock(mu_);
  active_ = std::move(files);
  sealed_.store(false, std::memory_order_release);
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::Create(FileSystem* fs, const std::string& dir,
                                                         int64_t base_offset,
                                                         const LogConfig& config, int64_t now_ms) {
  std::shared_ptr<Segment> seg(new Segment(fs, dir, base_offset, config, now_ms));
  auto files = std::make_unique<SegmentFiles>();
  files->writable = true;
  ASSIGN_OR_RETURN(files->log, fs->Open(seg->log_path_, OpenMode::kCreate));
  RETURN_IF_ERROR(files->log->Truncate(0));
  // Index files left behind by an earlier segment of the same name describe other data.
  for (absl::string_view suffix : {".index", ".timeindex"}) {
    std::string path = seg->PathFor(suffix);
    ASSIGN_OR_RETURN(bool exists, fs->Exists(path));
    if (exists) RETURN_IF_ERROR(fs->Remove(path));
  }
  RETURN_IF_ERROR(seg->OpenIndexes(files.get(), /*writable=*/true));
  seg->SetActive(std::move(files));
  return seg;
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::OpenFiles(FileSystem* fs, const std::string& dir,
                                                            int64_t base_offset,
                                                            const LogConfig& config, int64_t now_ms,
                                                            bool writable,
                                                            std::unique_ptr<SegmentFiles>* files) {
  std::shared_ptr<Segment> seg(new Segment(fs, dir, base_offset, config, now_ms));
  auto opened = std::make_unique<SegmentFiles>();
  opened->writable = writable;
  ASSIGN_OR_RETURN(opened->log,
                   fs->Open(seg->log_path_, writable ? OpenMode::kReadWrite : OpenMode::kReadOnly));
  ASSIGN_OR_RETURN(int64_t file_size, opened->log->Size());
  seg->size_.store(file_size, std::memory_order_release);
  *files = std::move(opened);
  return seg;
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::OpenActive(FileSystem* fs, const std::string& dir,
                                                             int64_t base_offset,
                                                             const LogConfig& config,
                                                             int64_t now_ms,
                                                             const ActiveState* clean) {
  std::unique_ptr<SegmentFiles> files;
  ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                   OpenFiles(fs, dir, base_offset, config, now_ms, /*writable=*/true, &files));
  if (clean == nullptr) {
    // Recover() rebuilds both indexes from the data.
    for (absl::string_view suffix : {".index", ".timeindex"}) {
      absl::Status removed = fs->Remove(seg->PathFor(suffix));
      if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
    }
    RETURN_IF_ERROR(seg->OpenIndexes(files.get(), /*writable=*/true));
    seg->SetActive(std::move(files));
    return seg;
  }
  if (clean->size != seg->size() || clean->next_offset < base_offset) {
    return absl::FailedPreconditionError(absl::StrCat(seg->log_path(), " is ", seg->size(),
                                                      " bytes but the clean-shutdown state says ",
                                                      clean->size));
  }
  RETURN_IF_ERROR(seg->OpenIndexes(files.get(), /*writable=*/true));
  RETURN_IF_ERROR(files->offset_index->SanityCheck());
  RETURN_IF_ERROR(files->time_index->SanityCheck());
  seg->next_offset_ = clean->next_offset;
  seg->max_timestamp_.store(clean->max_timestamp.timestamp);
  seg->offset_of_max_timestamp_.store(clean->max_timestamp.offset);
  seg->rolling_base_timestamp_ = clean->rolling_base_timestamp;
  seg->SetActive(std::move(files));
  return seg;
}

Segment::ActiveState Segment::active_state() const {
  return ActiveState{size(), next_offset_, max_timestamp(), rolling_base_timestamp_};
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::OpenSealed(FileSystem* fs, const std::string& dir,
                                                             int64_t base_offset,
                                                             int64_t next_offset,
                                                             const LogConfig& config,
                                                             int64_t now_ms) {
  std::unique_ptr<SegmentFiles> files;
  ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                   OpenFiles(fs, dir, base_offset, config, now_ms, /*writable=*/false, &files));
  const int64_t file_size = seg->size();
  seg->sealed_ = true;
  seg->next_offset_ = next_offset;
  absl::Status indexes = seg->OpenIndexes(files.get(), /*writable=*/false);
  if (indexes.ok()) indexes = files->offset_index->SanityCheck();
  if (indexes.ok()) indexes = files->time_index->SanityCheck();
  // A sealed non-empty segment always ends its time index with its max timestamp.
  if (indexes.ok() && file_size > 0 && files->time_index->entries() == 0) {
    indexes = absl::DataLossError(absl::StrCat(seg->PathFor(".timeindex"), " is empty"));
  }
  if (indexes.ok()) {
    TimestampOffset last = files->time_index->LastEntry();
    seg->max_timestamp_.store(last.timestamp);
    seg->offset_of_max_timestamp_.store(last.offset);
    // What we opened is the first handle; the budget may close it again right away.
    SegmentHandleCache::Global().Adopt(&seg->slot_, std::move(files));
    return seg;
  }
  if (!absl::IsNotFound(indexes) && !absl::IsDataLoss(indexes)) return indexes;
  // Missing or corrupt index: rebuild it from the data, then seal again (reference §2.9).
  files.reset();
  for (absl::string_view suffix : {".index", ".timeindex"}) {
    absl::Status removed = fs->Remove(seg->PathFor(suffix));
    if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
  }
  auto rebuilt = std::make_unique<SegmentFiles>();
  rebuilt->writable = true;
  ASSIGN_OR_RETURN(rebuilt->log, fs->Open(seg->log_path_, OpenMode::kReadWrite));
  RETURN_IF_ERROR(seg->OpenIndexes(rebuilt.get(), /*writable=*/true));
  seg->SetActive(std::move(rebuilt));
  ASSIGN_OR_RETURN(int64_t invalid, seg->Recover(/*truncate_invalid_tail=*/false));
  if (invalid > 0) {
    return absl::DataLossError(absl::StrCat(
        "sealed segment ", seg->log_path(), " is corrupt at byte ", seg->size(), ": ", invalid,
        " bytes from there on are not valid batches (its index needed a rebuild: ",
        indexes.message(), ")"));
  }
  if (seg->next_offset_ > next_offset) {
    return absl::DataLossError(absl::StrCat("sealed segment ", seg->log_path(),
                                            " holds offsets up to ", seg->next_offset_ - 1,
                                            ", overlapping the next segment at ", next_offset));
  }
  seg->next_offset_ = next_offset;
  RETURN_IF_ERROR(seg->Seal());
  return seg;
}

absl::StatusOr<std::unique_ptr<SegmentFiles>> Segment::OpenForRead() const {
  // A deleted segment's files may already belong to a new segment of the same name.
  if (deleted_.load(std::memory_order_acquire)) {
    return absl::NotFoundError(absl::StrCat("segment ", log_path_, " was deleted"));
  }
  auto files = std::make_unique<SegmentFiles>();
  ASSIGN_OR_RETURN(files->log, fs_->Open(log_path_, OpenMode::kReadOnly));
  ASSIGN_OR_RETURN(int64_t length, files->log->Size());
  if (length < size()) {
    return absl::DataLossError(absl::StrCat("sealed segment ", log_path_, " is ", length,
                                            " bytes long, shorter than its ", size(),
                                            " bytes of batches"));
  }
  RETURN_IF_ERROR(OpenIndexes(files.get(), /*writable=*/false));
  RETURN_IF_ERROR(files->offset_index->SanityCheck());
  RETURN_IF_ERROR(files->time_index->SanityCheck());
  return files;
}

absl::StatusOr<std::shared_ptr<const SegmentFiles>> Segment::PinFiles() const {
  {
    std::lock_guard lock(mu_);
    if (active_ != nullptr) return std::shared_ptr<const SegmentFiles>(active_);
  }
  return SegmentHandleCache::Global().Acquire(&slot_, [this] { return OpenForRead(); });
}

absl::StatusOr<std::shared_ptr<File>> Segment::PinLogFile() const {
  ASSIGN_OR_RETURN(std::shared_ptr<const SegmentFiles> files, PinFiles());
  File* log = files->log.get();
  return std::shared_ptr<File>(std::move(files), log);
}

std::shared_ptr<File> Segment::log_file() const {
  std::lock_guard lock(mu_);
  if (active_ == nullptr) return nullptr;
  return std::shared_ptr<File>(active_, active_->log.get());
}

RollReason Segment::ShouldRoll(const BatchHeader& incoming, int64_t now_ms) const {
  assert(active_ != nullptr);
  const int64_t size = size_.load(std::memory_order_relaxed);
  if (size > config_.segment_bytes - incoming.size_bytes()) return RollReason::kSize;
  if (size > 0) {
    int64_t waited = rolling_base_timestamp_ >= 0 ? incoming.max_timestamp - rolling_base_timestamp_
                                                  : now_ms - created_ms_;
    if (waited > config_.segment_ms - config_.segment_jitter_ms) return RollReason::kTime;
  }
  if (active_->offset_index->IsFull() || active_->time_index->IsFull()) {
    return RollReason::kIndexFull;
  }
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
    RETURN_IF_ERROR(active_->offset_index->Append(header.last_offset(), position));
    RETURN_IF_ERROR(active_->time_index->MaybeAppend(max_timestamp_.load(std::memory_order_relaxed),
                                                     offset_of_max_timestamp_.load()));
    bytes_since_last_index_entry_ = 0;
  }
  bytes_since_last_index_entry_ += header.size_bytes();
  return absl::OkStatus();
}

absl::Status Segment::Append(absl::string_view batch, const BatchHeader& header, IoBackend* io,
                             PendingSync* sync) {
  if (sealed_) {
    return absl::FailedPreconditionError(absl::StrCat("append to sealed segment ", log_path()));
  }
  assert(header.base_offset >= next_offset_);
  assert(static_cast<int64_t>(batch.size()) == header.size_bytes());
  File* log = active_->log.get();
  const int64_t position = size_.load(std::memory_order_relaxed);
  absl::Status written =
      io != nullptr ? io->Write(log, position, batch, sync) : log->Write(position, batch);
  if (!written.ok()) {
    // Whatever prefix landed is not part of the log; cut it so the next append starts clean.
    log->Truncate(position).IgnoreError();
    return written;
  }
  if (position == 0) rolling_base_timestamp_ = header.max_timestamp;
  RETURN_IF_ERROR(IndexBatch(header, position));
  next_offset_ = header.last_offset() + 1;
  size_.store(position + header.size_bytes(), std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<BatchHeader> Segment::ReadBatchHeader(const SegmentFiles& files, int64_t position,
                                                     int64_t limit) const {
  char buf[kBatchHeaderSize];
  if (limit - position < kBatchHeaderSize) {
    return absl::DataLossError(absl::StrCat(log_path(), ": batch at byte ", position,
                                            " is cut off: only ", limit - position,
                                            " bytes before the end at ", limit));
  }
  RETURN_IF_ERROR(files.log->ReadExact(position, absl::MakeSpan(buf)));
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

absl::StatusOr<BatchHeader> Segment::ReadBatchHeader(int64_t position, int64_t limit) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const SegmentFiles> files, PinFiles());
  return ReadBatchHeader(*files, position, limit);
}

std::optional<OffsetPosition> Segment::IndexEntryAtOrBefore(int64_t position) const {
  absl::StatusOr<std::shared_ptr<const SegmentFiles>> files = PinFiles();
  if (!files.ok()) return std::nullopt;
  return IndexEntryAtOrBefore(**files, position);
}

std::optional<OffsetPosition> Segment::IndexEntryAtOrBefore(const SegmentFiles& files,
                                                            int64_t position) const {
  const OffsetIndex& index = *files.offset_index;
  // Index positions increase with offsets, so a binary search over entries works.
  int lo = 0, hi = index.entries();
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (index.EntryAt(mid).position <= position) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return std::nullopt;
  return index.EntryAt(lo - 1);
}

absl::StatusOr<std::optional<BatchLocation>> Segment::FindBatch(const SegmentFiles& files,
                                                                int64_t offset,
                                                                int64_t limit) const {
  int64_t position = files.offset_index->Lookup(offset).position;
  while (position < limit) {
    ASSIGN_OR_RETURN(BatchHeader h, ReadBatchHeader(files, position, limit));
    if (h.last_offset() >= offset) return BatchLocation{position, h};
    position += h.size_bytes();
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<BatchLocation>> Segment::FindBatch(int64_t offset,
                                                                int64_t limit) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const SegmentFiles> files, PinFiles());
  return FindBatch(*files, offset, limit);
}

absl::StatusOr<std::optional<BatchLocation>> Segment::FindBatchForTimestamp(int64_t timestamp,
                                                                            int64_t limit) const {
  ASSIGN_OR_RETURN(std::shared_ptr<const SegmentFiles> files, PinFiles());
  const int64_t offset = files->time_index->Lookup(timestamp).offset;
  ASSIGN_OR_RETURN(std::optional<BatchLocation> loc, FindBatch(*files, offset, limit));
  while (loc.has_value()) {
    if (loc->header.max_timestamp >= timestamp) return loc;
    int64_t next = loc->position + loc->header.size_bytes();
    if (next >= limit) break;
    ASSIGN_OR_RETURN(BatchHeader h, ReadBatchHeader(*files, next, limit));
    loc = BatchLocation{next, h};
  }
  return std::nullopt;
}

TimestampOffset Segment::max_timestamp() const {
  return TimestampOffset{max_timestamp_.load(std::memory_order_relaxed),
                         offset_of_max_timestamp_.load(std::memory_order_relaxed)};
}

absl::StatusOr<int64_t> Segment::Recover(bool truncate_invalid_tail) {
  if (active_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("recover sealed segment ", log_path()));
  }
  SegmentFiles& files = *active_;
  files.offset_index->Reset();
  files.time_index->Reset();
  bytes_since_last_index_entry_ = 0;
  max_timestamp_.store(kNoTimestamp);
  offset_of_max_timestamp_.store(base_offset_);
  rolling_base_timestamp_ = kNoTimestamp;
  next_offset_ = base_offset_;
  sealed_ = false;

  ASSIGN_OR_RETURN(const int64_t file_size, files.log->Size());
  int64_t position = 0;
  std::string buf;
  while (true) {
    // Fewer bytes than a batch header: a torn tail (or the clean end when zero remain).
    if (file_size - position < kBatchHeaderSize) break;
    buf.resize(kBatchHeaderSize);
    RETURN_IF_ERROR(files.log->ReadExact(position, absl::MakeSpan(buf)));
    BatchHeader h = DecodeBatchHeader(buf.data());
    // Zeros from a preallocated or torn tail fail here: length 0 and magic 0 are invalid.
    if (h.magic != kMagicV2 || h.size_bytes() < kBatchHeaderSize) break;
    if (h.size_bytes() > file_size - position) break;  // torn tail: the batch never completed
    // Offsets must increase, fit the 32-bit relative offsets, and leave room for the next one
    // (last + 1) without wrapping around.
    if (h.base_offset < next_offset_ || h.last_offset_delta < 0 ||
        h.base_offset >= std::numeric_limits<int64_t>::max() - h.last_offset_delta ||
        h.last_offset() - base_offset_ > std::numeric_limits<int32_t>::max()) {
      break;
    }
    buf.resize(h.size_bytes());
    RETURN_IF_ERROR(files.log->ReadExact(position, absl::MakeSpan(buf)));
    if (ComputeBatchCrc(buf) != h.crc) break;
    if (position == 0) rolling_base_timestamp_ = h.max_timestamp;
    RETURN_IF_ERROR(IndexBatch(h, position));
    next_offset_ = h.last_offset() + 1;
    position += h.size_bytes();
  }
  if (position < file_size && truncate_invalid_tail) RETURN_IF_ERROR(files.log->Truncate(position));
  size_.store(position, std::memory_order_release);
  return file_size - position;
}

absl::Status Segment::ReloadTailState() {
  // The time index's last entry holds the max timestamp up to the last indexed batch; the
  // batches after it are scanned (at most about index.interval.bytes of headers).
  const SegmentFiles& files = *active_;
  TimestampOffset last = files.time_index->LastEntry();
  max_timestamp_.store(last.timestamp);
  offset_of_max_timestamp_.store(last.offset);
  next_offset_ = base_offset_;
  rolling_base_timestamp_ = kNoTimestamp;
  const int64_t limit = size();
  if (limit == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(BatchHeader first, ReadBatchHeader(files, 0, limit));
  rolling_base_timestamp_ = first.max_timestamp;
  int64_t position = files.offset_index->LastEntry().position;
  while (position < limit) {
    ASSIGN_OR_RETURN(BatchHeader h, ReadBatchHeader(files, position, limit));
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
  SegmentFiles& files = *active_;
  TimestampOffset max = max_timestamp();
  if (max.timestamp != kNoTimestamp) {
    RETURN_IF_ERROR(
        files.time_index->MaybeAppend(max.timestamp, max.offset, /*skip_full_check=*/true));
  }
  RETURN_IF_ERROR(files.offset_index->Seal());
  RETURN_IF_ERROR(files.time_index->Seal());
  // Before sealed_ is published: a Sync that sees the segment sealed also sees this.
  indexes_unsynced_.store(true, std::memory_order_release);
  // The files stay open and become the cached handle; until active_ goes, PinFiles still finds
  // them there, so there is no moment in which a Sync would open them a second time.
  SegmentHandleCache::Global().Adopt(&slot_, active_);
  std::lock_guard lock(mu_);
  active_.reset();
  sealed_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Segment::Reactivate() {
  auto files = std::make_unique<SegmentFiles>();
  files->writable = true;
  ASSIGN_OR_RETURN(files->log, fs_->Open(log_path_, OpenMode::kReadWrite));
  // Opening an index writable grows it for appends, keeping its entries (MakeWritable's effect).
  RETURN_IF_ERROR(OpenIndexes(files.get(), /*writable=*/true));
  // The read-only handle goes; pins of it (slices) keep reading through it.
  SegmentHandleCache::Global().Release(&slot_);
  indexes_unsynced_.store(false, std::memory_order_relaxed);
  SetActive(std::move(files));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Segment::TruncateTo(int64_t offset) {
  const int64_t old_size = size();
  ASSIGN_OR_RETURN(std::optional<BatchLocation> first_removed, FindBatch(offset, old_size));
  if (sealed_) RETURN_IF_ERROR(Reactivate());
  if (!first_removed.has_value()) return 0;
  SegmentFiles& files = *active_;
  const int64_t new_size = first_removed->position;
  files.offset_index->TruncateTo(offset);
  files.time_index->TruncateTo(offset);
  RETURN_IF_ERROR(files.log->Truncate(new_size));
  size_.store(new_size, std::memory_order_release);
  bytes_since_last_index_entry_ = 0;
  RETURN_IF_ERROR(ReloadTailState());
  return old_size - new_size;
}

absl::Status Segment::SyncIndexes(const SegmentFiles* files) const {
  if (files != nullptr && files->writable) {
    RETURN_IF_ERROR(files->offset_index->Flush());
    return files->time_index->Flush();
  }
  // A read-only handle cannot flush through its indexes (Flush is a no-op there), but fdatasync
  // through any descriptor writes back the inode's dirty pages, including those that the
  // read-write mapping of the (since closed) active handle dirtied.
  for (absl::string_view suffix : {".index", ".timeindex"}) {
    ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs_->Open(PathFor(suffix), OpenMode::kReadOnly));
    RETURN_IF_ERROR(file->Sync());
  }
  return absl::OkStatus();
}

absl::Status Segment::Sync(IoBackend* io) {
  // Retention may delete a segment that still waits for its post-roll sync.
  if (deleted_.load(std::memory_order_acquire)) return absl::OkStatus();
  std::shared_ptr<const SegmentFiles> files;
  {
    std::lock_guard lock(mu_);
    files = active_;
  }
  if (files == nullptr) files = SegmentHandleCache::Global().Peek(&slot_);
  absl::Status status;
  if (files != nullptr) {
    status = io->Sync(files->log.get());
  } else {
    // A sealed segment whose handle the budget closed: sync through a descriptor of our own
    // rather than reopen the handle, which would evict one a reader wants.
    absl::StatusOr<std::unique_ptr<File>> log = fs_->Open(log_path_, OpenMode::kReadOnly);
    status = log.ok() ? io->Sync(log->get()) : log.status();
  }
  if (status.ok() && sealed() && indexes_unsynced_.exchange(false, std::memory_order_acq_rel)) {
    status = SyncIndexes(files.get());
    if (!status.ok()) indexes_unsynced_.store(true, std::memory_order_release);
  }
  // Deleted meanwhile (the files are gone): nothing is left to make durable.
  if (!status.ok() && deleted_.load(std::memory_order_acquire)) return absl::OkStatus();
  return status;
}

absl::Status Segment::SealIndexesForClose() {
  if (sealed_) return SyncIndexes(SegmentHandleCache::Global().Peek(&slot_).get());
  SegmentFiles& files = *active_;
  TimestampOffset max = max_timestamp();
  if (max.timestamp != kNoTimestamp) {
    RETURN_IF_ERROR(files.time_index->MaybeAppend(max.timestamp, max.offset, true));
  }
  RETURN_IF_ERROR(files.offset_index->Seal());
  RETURN_IF_ERROR(files.time_index->Seal());
  RETURN_IF_ERROR(files.offset_index->Flush());
  return files.time_index->Flush();
}

absl::Status Segment::Close() {
  if (sealed_) {
    SegmentHandleCache::Global().Release(&slot_);
    return absl::OkStatus();
  }
  absl::Status status;
  SegmentFiles& files = *active_;
  // Like Kafka: the final time-index entry, then trimmed indexes, so a reopen finds them.
  TimestampOffset max = max_timestamp();
  if (max.timestamp != kNoTimestamp) {
    status.Update(files.time_index->MaybeAppend(max.timestamp, max.offset, true));
  }
  status.Update(files.offset_index->Close());
  status.Update(files.time_index->Close());
  std::lock_guard lock(mu_);
  active_.reset();
  sealed_.store(true, std::memory_order_release);
  return status;
}

absl::Status Segment::DeleteFiles() {
  deleted_.store(true, std::memory_order_release);
  absl::Status status;
  for (absl::string_view suffix : {".log", ".index", ".timeindex"}) {
    absl::Status s = fs_->Remove(PathFor(suffix));
    if (!absl::IsNotFound(s)) status.Update(s);
  }
  SegmentHandleCache::Global().Release(&slot_);
  return status;
}

}  // namespace varve
