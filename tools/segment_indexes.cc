#include "tools/segment_indexes.h"

#include "absl/strings/str_cat.h"

namespace varve::dump {

SegmentIndexes::SegmentIndexes(DumpContext* ctx, const SegmentFiles& seg)
    : ctx_(ctx), seg_(seg), base_offset_(seg.base_offset.value_or(0)) {
  if (!seg.base_offset && (!seg.index.empty() || !seg.time_index.empty())) {
    ctx_->printer->Note(seg.index.empty() ? seg.time_index : seg.index,
                        "the name gives no base offset: offsets are read as relative to 0");
  }
  if (!seg.index.empty()) offset_index_ = OpenIndex(seg.index, IndexFile::Kind::kOffset);
  if (!seg.time_index.empty()) time_index_ = OpenIndex(seg.time_index, IndexFile::Kind::kTime);
  if (offset_index_) offset_checker_.emplace(offset_index_.get(), &problems_);
  if (time_index_) time_checker_.emplace(time_index_.get(), &problems_);
  ctx_->Report(&problems_);
}

std::unique_ptr<IndexFile> SegmentIndexes::OpenIndex(const std::string& path,
                                                     IndexFile::Kind kind) {
  absl::StatusOr<std::unique_ptr<IndexFile>> index =
      IndexFile::Open(ctx_->fs, path, kind, base_offset_, ctx_->options.read_chunk_bytes);
  if (!index.ok()) {
    ctx_->IoError(index.status());
    return nullptr;
  }
  if (std::optional<Problem> partial = (*index)->PartialEntryProblem()) {
    problems_.push_back(*std::move(partial));
  }
  if ((*index)->zero_tail() > 0) {
    ctx_->printer->Note(path, absl::StrCat((*index)->zero_tail(),
                                           " all-zero entries at the end: preallocated space "
                                           "of an active segment, not entries"));
  }
  return *std::move(index);
}

void SegmentIndexes::Check(absl::Status status) {
  if (!status.ok()) ctx_->IoError(status);
}

void SegmentIndexes::PrintEntries() {
  DumpPrinter* printer = ctx_->printer;
  if (offset_index_) {
    printer->FileHeader(offset_index_->path(), "index");
    for (int64_t i = 0; i < offset_index_->entries(); ++i) {
      absl::StatusOr<OffsetPosition> e = offset_index_->OffsetEntry(i);
      if (!e.ok()) return Check(e.status());
      printer->OffsetIndexEntry(offset_index_->path(), e->offset, e->position);
    }
  }
  if (time_index_) {
    printer->FileHeader(time_index_->path(), "time_index");
    for (int64_t i = 0; i < time_index_->entries(); ++i) {
      absl::StatusOr<TimestampOffset> e = time_index_->TimeEntry(i);
      if (!e.ok()) return Check(e.status());
      printer->TimeIndexEntry(time_index_->path(), e->timestamp, e->offset);
    }
  }
}

void SegmentIndexes::OnBatch(const ScannedBatch& batch) {
  if (offset_checker_) Check(offset_checker_->OnBatch(batch));
  if (time_checker_) Check(time_checker_->OnBatch(batch));
  ctx_->Report(&problems_);
}

void SegmentIndexes::Finish(int64_t data_end, bool sealed) {
  if (offset_checker_) Check(offset_checker_->Finish(data_end));
  if (time_checker_) Check(time_checker_->Finish(sealed));
  ctx_->Report(&problems_);
}

void SegmentIndexes::CheckAgainstLog(bool sealed) {
  if (empty()) return;
  if (seg_.log.empty()) {
    const std::string& path = offset_index_ ? offset_index_->path() : time_index_->path();
    ctx_->printer->Note(path, "no .log beside it: only the order of the entries is checked");
    if (offset_checker_) Check(offset_checker_->CheckOrderOnly());
    if (time_checker_) Check(time_checker_->CheckOrderOnly());
    ctx_->Report(&problems_);
    return;
  }
  std::unique_ptr<ReadOnlyFile> log = ctx_->Open(seg_.log);
  if (log == nullptr) return;
  BatchScanner scanner(log.get(), 0, seg_.base_offset);
  ScannedBatch batch;
  std::vector<Problem> log_problems;  // reported by the walk over the batches, not here
  int64_t data_end = 0;
  while (scanner.Next(&batch, &log_problems)) {
    OnBatch(batch);
    data_end = batch.position + batch.header.size_bytes();
  }
  Check(scanner.status());
  Finish(data_end, sealed);
}

int64_t SegmentIndexes::entries() const {
  return (offset_index_ ? offset_index_->entries() : 0) +
         (time_index_ ? time_index_->entries() : 0);
}

}  // namespace varve::dump
