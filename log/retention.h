#pragma once

// The retention policy (cleanup.policy=delete, reference §2.10): which of a log's oldest segments
// to delete, decided from a description of the segments. Pure: no I/O, no clock, no locks. The
// Log describes its segments, calls DecideRetention, rolls if told to, deletes the named
// segments and raises its log start offset. See docs/retention.md for the operator's view.
//
// Example (what Log does, holding its append lock):
//   std::vector<RetentionSegment> described = ...;  // oldest first, the active one last
//   RetentionDecision d = DecideRetention({.segments = described,
//                                          .log_start_offset = start_offset(),
//                                          .upper_bound = high_watermark,
//                                          .now_ms = NowMs(),
//                                          .retention_ms = config.retention_ms,
//                                          .retention_bytes = config.retention_bytes});
//   if (d.roll_first) RETURN_IF_ERROR(Roll(end_offset()));
//   delete the first d.delete_count segments; start_offset_ = d.new_log_start_offset;
//
// DeleteRecords raises the log start offset first, through CheckNewLogStartOffset; the next
// DecideRetention then deletes the segments wholly below it (rule 1).
//
// Concurrency: the functions are pure and may be called from any thread. The input's span is
// only read during the call.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace varve {

// What the policy needs to know about one segment.
struct RetentionSegment {
  int64_t base_offset;
  // One past its last offset: the next segment's base (as Kafka measures it), or the log end
  // offset for the active segment.
  int64_t next_offset;
  int64_t size_bytes;
  // Largest record timestamp in the segment; negative (kNoTimestamp) if it has none.
  int64_t max_timestamp;
  // The last segment of the log, the one appended to.
  bool active;
};

// The rule that deleted the oldest segment. Passes run in this order (Kafka's), so this is the
// first rule that deleted anything.
enum class RetentionReason {
  kNone,
  kLogStartOffset,  // wholly below the log start offset (raised by DeleteRecords)
  kSize,            // retention.bytes: the log stays at least that large without it
  kTime,            // retention.ms: its newest record is older than that
};
const char* RetentionReasonName(RetentionReason reason);

struct RetentionDecision {
  // Delete this many of the oldest segments.
  int delete_count = 0;
  RetentionReason reason = RetentionReason::kNone;
  // Every segment, the (non-empty) active one included, is to be deleted: the caller must first
  // roll a new empty active segment at the old log end offset, so the log never has zero
  // segments. The new segment is not counted in delete_count.
  bool roll_first = false;
  // max(current log start offset, base of the first kept segment); with roll_first, the first
  // kept segment is the new one, whose base is the old log end offset.
  int64_t new_log_start_offset = 0;
};

struct RetentionInput {
  // Oldest first; the last one, and only it, is active. Not empty.
  absl::Span<const RetentionSegment> segments;
  // May lie inside the first segment (after DeleteRecords).
  int64_t log_start_offset;
  // No segment whose next_offset is above this is deleted: the high watermark, so the log start
  // offset never passes it and no replica loses data it has not yet copied.
  int64_t upper_bound;
  int64_t now_ms;
  // retention.ms; -1: no time limit.
  int64_t retention_ms;
  // retention.bytes; -1: no size limit.
  int64_t retention_bytes;
};

// Applies Kafka's three rules from the oldest segment on, each deleting while segments qualify:
//   1. log start: the segment is sealed and next_offset <= log_start_offset;
//   2. size (retention_bytes >= 0): total_size - retention_bytes >= size_bytes, the total
//      shrinking as segments go;
//   3. time (retention_ms >= 0): now_ms - max_timestamp > retention_ms. A segment without
//      timestamps is never deleted by time (Kafka would fall back to the file's mtime), and, as
//      every rule stops at the first segment that does not qualify, neither is anything after it.
// Whatever the rule, a segment is kept if its next_offset > upper_bound, and an empty active
// segment is always kept. Never deletes a segment that holds offsets at or above the log start
// offset unless a size or time limit says so.
RetentionDecision DecideRetention(const RetentionInput& input);

// Validates a DeleteRecords request to raise the log start offset to `requested`, the offset of
// the first record to keep. Returns the new log start offset, max(current_start, requested): a
// request below the current start is a no-op, not an error. OutOfRange (Kafka:
// OFFSET_OUT_OF_RANGE) if `requested` is negative or above `upper_bound` (the high watermark).
// DeleteRecords' -1 ("up to the high watermark") is the caller's to translate first.
absl::StatusOr<int64_t> CheckNewLogStartOffset(int64_t requested, int64_t current_start,
                                               int64_t upper_bound);

}  // namespace varve
