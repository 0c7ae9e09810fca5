#include "log/retention.h"

#include <algorithm>
#include <cassert>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "log/record_batch.h"

namespace varve {
namespace {

// Rule 1. Kafka asks for a *next* segment whose base is <= logStartOffset, so the active segment
// never qualifies here: DeleteRecords up to the log end leaves it in place (holding only records
// below the log start, which no fetch returns) until it rolls or a size or time limit takes it,
// rather than forcing a roll.
bool BelowLogStart(const RetentionSegment& segment, const RetentionInput& input) {
  return !segment.active && segment.next_offset <= input.log_start_offset;
}

// Rule 2, in a form that does not depend on where the walk started: see DecideRetention.
bool OverSizeLimit(int64_t bytes_after_segment, const RetentionInput& input) {
  return input.retention_bytes >= 0 && bytes_after_segment >= input.retention_bytes;
}

// Rule 3. Written so that it cannot overflow: max_timestamp >= 0 and now_ms > max_timestamp make
// the difference positive and representable. A timestamp in the future never expires.
static_assert(kNoTimestamp < 0, "OlderThanRetention takes a negative timestamp for none");
bool OlderThanRetention(const RetentionSegment& segment, const RetentionInput& input) {
  return input.retention_ms >= 0 && segment.max_timestamp >= 0 &&
         input.now_ms > segment.max_timestamp &&
         input.now_ms - segment.max_timestamp > input.retention_ms;
}

}  // namespace

const char* RetentionReasonName(RetentionReason reason) {
  switch (reason) {
    case RetentionReason::kNone:
      return "none";
    case RetentionReason::kLogStartOffset:
      return "log_start_offset";
    case RetentionReason::kSize:
      return "size";
    case RetentionReason::kTime:
      return "time";
  }
  return "unknown";
}

// Kafka runs the rules as three passes, each deleting from the head the previous pass left, and
// each stopping at its first non-qualifying segment (or at the high watermark, or at an empty
// active segment). One walk that deletes a segment if *any* rule accepts it gives the same
// prefix, because rules 1 and 2 each accept a prefix of the segments regardless of where a pass
// starts:
//   * rule 1 accepts segment i iff next_offset(i) <= log start (and i is sealed); next_offset
//     grows with i, so once it fails it fails for every later segment;
//   * rule 2, started at segment a, sets diff = bytes(a..n) - retention_bytes and deletes i while
//     diff - size(i) >= 0, diff shrinking by each deleted size. At segment i that reads
//     bytes(a..n) - bytes(a..i-1) - size(i) >= retention_bytes, i.e. bytes(i+1..n) >=
//     retention_bytes: independent of a, and it only gets harder as i grows.
// So with A and S the prefixes rules 1 and 2 accept and B where the bounds stop everything,
// passes 1 and 2 together delete min(max(A, S), B) segments, as the single walk does up to that
// point. Past it, rules 1 and 2 reject every segment, so the walk continues exactly as pass 3
// (rule 3 alone, which need not be monotonic: timestamps are the producers') would. The reason
// reported is the first rule, in pass order, that accepts the oldest segment: that is the pass
// that deleted it, and every earlier pass deleted nothing.
RetentionDecision DecideRetention(const RetentionInput& input) {
  const absl::Span<const RetentionSegment> segments = input.segments;
  RetentionDecision decision;
  decision.new_log_start_offset = input.log_start_offset;
  assert(!segments.empty());
  if (segments.empty()) return decision;

  int64_t bytes_after = 0;  // bytes of the segments after the one being considered
  for (size_t i = 0; i < segments.size(); ++i) {
    assert(segments[i].active == (i + 1 == segments.size()));
    assert(segments[i].base_offset <= segments[i].next_offset);
    assert(segments[i].size_bytes >= 0);
    bytes_after += segments[i].size_bytes;
  }

  int count = 0;
  for (const RetentionSegment& segment : segments) {
    bytes_after -= segment.size_bytes;
    if (segment.next_offset > input.upper_bound) break;
    if (segment.active && segment.size_bytes == 0) break;
    RetentionReason reason = RetentionReason::kNone;
    if (BelowLogStart(segment, input)) {
      reason = RetentionReason::kLogStartOffset;
    } else if (OverSizeLimit(bytes_after, input)) {
      reason = RetentionReason::kSize;
    } else if (OlderThanRetention(segment, input)) {
      reason = RetentionReason::kTime;
    } else {
      break;
    }
    if (count == 0) decision.reason = reason;
    ++count;
  }

  decision.delete_count = count;
  decision.roll_first = count == static_cast<int>(segments.size());
  const int64_t first_kept_base =
      decision.roll_first ? segments.back().next_offset : segments[count].base_offset;
  decision.new_log_start_offset = std::max(input.log_start_offset, first_kept_base);
  return decision;
}

absl::StatusOr<int64_t> CheckNewLogStartOffset(int64_t requested, int64_t current_start,
                                               int64_t upper_bound) {
  if (requested < 0 || requested > upper_bound) {
    return absl::OutOfRangeError(absl::StrCat("new log start offset ", requested,
                                              " is outside [0, ", upper_bound,
                                              "], the high watermark"));
  }
  return std::max(current_start, requested);
}

}  // namespace varve
