#pragma once

// Range queries for varve-dump's dump and digest modes, answered the way the broker answers
// Fetch and ListOffsets (docs/format.md): through the indexes, reading only the batches near
// the range, never the whole log.
//
//   --from-offset N   the scan starts at the offset-index entry at or below N, in the last
//                     segment whose base offset is <= N, and skips batches ending below N;
//   --from-time T     the first record with a timestamp >= T: per segment, the time-index
//                     entry at or below T gives an offset, the offset index a position, and
//                     the scan goes on to the first batch whose MaxTimestamp is >= T;
//   --to-offset/--to-time  the same, for the end: the walk stops at the first batch after it.
//
// Example:
//   ASSIGN_OR_RETURN(OffsetRange range, ResolveRange(ctx, log));
//   WalkRange(ctx, log, range, {.on_batch = [&](const SegmentFiles& seg,
//                                               const ScannedBatch& batch) { ... }});

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/dump_context.h"
#include "tools/dump_inputs.h"
#include "tools/segment_scanner.h"

namespace varve::dump {

// Offsets [begin, end); no end: to the end of the log.
struct OffsetRange {
  int64_t begin = 0;
  std::optional<int64_t> end;
  bool empty = false;  // a time bound matched no record

  bool Contains(int64_t offset) const { return offset >= begin && (!end || offset < *end); }
};

// The range the options ask for in `log`, with time bounds resolved through its indexes.
// Errors: the I/O errors met.
absl::StatusOr<OffsetRange> ResolveRange(DumpContext* ctx, const LogDirectory& log);

// The offset of the first record with a timestamp >= `timestamp` (for a batch whose records
// cannot be decoded, its base offset), or nullopt if there is none.
absl::StatusOr<std::optional<int64_t>> FindOffsetForTime(DumpContext* ctx, const LogDirectory& log,
                                                         int64_t timestamp);

// Where a scan for `target` starts in `seg`, whose `.log` is `log`: the position of the
// offset-index entry at or below `target`, checked to be the start of a batch that does not
// begin after the entry's offset (else an index_not_batch_start problem, and 0); 0 without an
// index.
absl::StatusOr<int64_t> StartPosition(DumpContext* ctx, const SegmentFiles& seg, ReadOnlyFile* log,
                                      int64_t target, std::vector<Problem>* problems);

struct WalkCallbacks {
  // Before the first batch of a segment the walk reads (its `.log` opened).
  std::function<void(const SegmentFiles&)> on_segment_start = [](const SegmentFiles&) {};
  // Each batch overlapping the range, in order.
  std::function<void(const SegmentFiles&, const ScannedBatch&)> on_batch =
      [](const SegmentFiles&, const ScannedBatch&) {};
  // After the segment's last batch; `sealed`: a later segment exists.
  std::function<void(const SegmentFiles&, bool sealed)> on_segment_end = [](const SegmentFiles&,
                                                                            bool) {};
};

// Walks the batches of `log` that overlap `range`, in order. Framing problems, counts and
// offset continuity are checked on the way (OffsetContinuity, CheckBatchCounts) and reported
// through ctx; I/O errors are recorded in ctx. Segments without a `.log` are skipped.
void WalkRange(DumpContext* ctx, const LogDirectory& log, const OffsetRange& range,
               const WalkCallbacks& callbacks);

}  // namespace varve::dump
