#include "tools/range_walk.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "tools/batch_checks.h"
#include "tools/index_check.h"

namespace varve::dump {

absl::StatusOr<int64_t> StartPosition(DumpContext* ctx, const SegmentFiles& seg, ReadOnlyFile* log,
                                      int64_t target, std::vector<Problem>* problems) {
  if (seg.index.empty() || !seg.base_offset || target <= *seg.base_offset) return 0;
  ASSIGN_OR_RETURN(std::unique_ptr<IndexFile> index,
                   IndexFile::Open(ctx->fs, seg.index, IndexFile::Kind::kOffset, *seg.base_offset,
                                   ctx->options.read_chunk_bytes));
  int64_t entry_number = 0;
  ASSIGN_OR_RETURN(std::optional<OffsetPosition> entry,
                   LookupOffset(index.get(), target, &entry_number));
  if (!entry) return 0;
  ASSIGN_OR_RETURN(std::optional<BatchHeader> header, ReadBatchHeaderAt(log, entry->position));
  if (header && header->base_offset <= entry->offset) return entry->position;
  problems->push_back(
      {seg.index, index->EntryPosition(entry_number), "index_not_batch_start",
       absl::StrCat("entry ", entry_number, " (offset ", entry->offset, ", position ",
                    entry->position, "), found looking up offset ", target, ": ",
                    header ? absl::StrCat("the batch there starts at offset ", header->base_offset)
                           : std::string("no batch starts there"),
                    "; scanning the segment from its start instead")});
  return 0;
}

absl::StatusOr<std::optional<int64_t>> FindOffsetForTime(DumpContext* ctx, const LogDirectory& log,
                                                         int64_t timestamp) {
  // Problems met here are reported by the walk over the range, or lie outside it.
  std::vector<Problem> ignored;
  std::string scratch;
  for (const SegmentFiles& seg : log.segments) {
    if (seg.log.empty()) continue;
    ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyFile> file,
                     ReadOnlyFile::Open(ctx->fs, seg.log, ctx->options.read_chunk_bytes));
    int64_t start = 0;
    if (!seg.time_index.empty() && seg.base_offset) {
      ASSIGN_OR_RETURN(std::unique_ptr<IndexFile> index,
                       IndexFile::Open(ctx->fs, seg.time_index, IndexFile::Kind::kTime,
                                       *seg.base_offset, ctx->options.read_chunk_bytes));
      ASSIGN_OR_RETURN(std::optional<TimestampOffset> entry,
                       LookupTimestamp(index.get(), timestamp));
      if (entry) {
        ASSIGN_OR_RETURN(start, StartPosition(ctx, seg, file.get(), entry->offset, &ignored));
      }
    }
    BatchScanner scanner(file.get(), start, seg.base_offset);
    ScannedBatch batch;
    while (scanner.Next(&batch, &ignored)) {
      if (batch.header.max_timestamp < timestamp) continue;
      std::optional<int64_t> found;
      DecodeRecords(
          batch, seg.log, ctx->record_options(), &scratch,
          [&](const RecordView& r) {
            if (!found && r.timestamp >= timestamp) found = r.offset;
          },
          &ignored);
      return found ? *found : batch.header.base_offset;
    }
    RETURN_IF_ERROR(scanner.status());
  }
  return std::nullopt;
}

absl::StatusOr<OffsetRange> ResolveRange(DumpContext* ctx, const LogDirectory& log) {
  const DumpOptions& o = ctx->options;
  OffsetRange range;
  if (o.from_offset) range.begin = *o.from_offset;
  if (o.to_offset && *o.to_offset < INT64_MAX) range.end = *o.to_offset + 1;
  if (o.from_time) {
    ASSIGN_OR_RETURN(std::optional<int64_t> begin, FindOffsetForTime(ctx, log, *o.from_time));
    if (!begin) {
      range.empty = true;
      return range;
    }
    range.begin = std::max(range.begin, *begin);
  }
  if (o.to_time && *o.to_time < INT64_MAX) {
    ASSIGN_OR_RETURN(std::optional<int64_t> end, FindOffsetForTime(ctx, log, *o.to_time + 1));
    if (end) range.end = range.end ? std::min(*range.end, *end) : *end;
  }
  if (range.end && range.begin >= *range.end) range.empty = true;
  return range;
}

void WalkRange(DumpContext* ctx, const LogDirectory& log, const OffsetRange& range,
               const WalkCallbacks& callbacks) {
  if (range.empty) return;
  const std::vector<SegmentFiles>& segments = log.segments;
  // Start in the last segment whose base offset is at or below the range's start.
  size_t first = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (!segments[i].log.empty() && segments[i].base_offset &&
        *segments[i].base_offset <= range.begin) {
      first = i;
    }
  }
  size_t last_with_log = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (!segments[i].log.empty()) last_with_log = i;
  }
  OffsetContinuity offsets(ctx->options.allow_gaps);
  std::vector<Problem> problems;
  for (size_t i = first; i < segments.size(); ++i) {
    const SegmentFiles& seg = segments[i];
    if (seg.log.empty()) continue;
    if (range.end && seg.base_offset && *seg.base_offset >= *range.end) break;
    std::unique_ptr<ReadOnlyFile> file = ctx->Open(seg.log);
    if (file == nullptr) continue;
    int64_t start = 0;
    if (i == first && range.begin > 0) {
      absl::StatusOr<int64_t> position =
          StartPosition(ctx, seg, file.get(), range.begin, &problems);
      if (position.ok()) {
        start = *position;
      } else {
        ctx->IoError(position.status());
      }
    }
    callbacks.on_segment_start(seg);
    offsets.StartSegment(seg.log, seg.base_offset, &problems);
    BatchScanner scanner(file.get(), start, seg.base_offset);
    ScannedBatch batch;
    bool past_end = false;
    while (scanner.Next(&batch, &problems)) {
      if (batch.header.last_offset() < range.begin) {
        ctx->Report(&problems);
        continue;
      }
      // Continuity first: a corrupt BaseOffset must not end the walk silently.
      offsets.Check(batch, seg.log, &problems);
      if (range.end && batch.header.base_offset >= *range.end) {
        past_end = true;
        break;
      }
      CheckBatchCounts(batch, seg.log, ctx->options.allow_gaps, &problems);
      ctx->Report(&problems);
      callbacks.on_batch(seg, batch);
    }
    ctx->Report(&problems);
    if (!scanner.status().ok()) ctx->IoError(scanner.status());
    callbacks.on_segment_end(seg, i < last_with_log);
    if (past_end) break;
  }
}

}  // namespace varve::dump
