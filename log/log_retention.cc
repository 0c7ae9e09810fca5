// Log's retention: deciding is log/retention.cc's job; this applies the decision.

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "log/log.h"

namespace varve {

absl::StatusOr<Log::RetentionResult> Log::ApplyRetention(std::optional<int64_t> upper_bound) {
  std::lock_guard lock(append_mu_);
  return RetainLocked(upper_bound.value_or(end_offset()));
}

absl::StatusOr<Log::RetentionResult> Log::DeleteRecordsBefore(int64_t offset,
                                                              std::optional<int64_t> upper_bound) {
  std::lock_guard lock(append_mu_);
  const int64_t bound = std::min(upper_bound.value_or(end_offset()), end_offset());
  ASSIGN_OR_RETURN(int64_t new_start, CheckNewLogStartOffset(offset, start_offset(), bound));
  if (new_start > start_offset()) {
    RETURN_IF_ERROR(start_checkpoint_->Write(new_start));
    start_offset_.store(new_start, std::memory_order_release);
  }
  return RetainLocked(bound);
}

absl::StatusOr<Log::RetentionResult> Log::RetainLocked(int64_t upper_bound) {
  std::vector<RetentionSegment> segments;
  {
    std::shared_lock l(structure_mu_);
    if (closed_) return absl::FailedPreconditionError(absl::StrCat("log ", dir_, " is closed"));
    const int64_t end = end_offset();
    for (size_t i = 0; i < segments_.size(); ++i) {
      const bool active = i + 1 == segments_.size();
      segments.push_back(RetentionSegment{
          segments_[i]->base_offset(), active ? end : segments_[i + 1]->base_offset(),
          segments_[i]->size(), segments_[i]->max_timestamp().timestamp, active});
    }
  }
  RetentionInput input;
  input.segments = segments;
  input.log_start_offset = start_offset();
  input.upper_bound = std::min(upper_bound, end_offset());
  input.now_ms = NowMs();
  input.retention_ms = options_.config.retention_ms;
  input.retention_bytes = options_.config.retention_bytes;
  const RetentionDecision decision = DecideRetention(input);

  RetentionResult result;
  result.reason = decision.reason;
  if (decision.roll_first) RETURN_IF_ERROR(Roll(end_offset()).status());
  // The new start is raised (and on disk) before any segment leaves the list, so a concurrent
  // reader never finds offsets missing below a start offset that still admits them; a crash in
  // between leaves at worst some unreferenced old segments to delete again.
  const int64_t new_start = std::max(decision.new_log_start_offset, start_offset());
  if (new_start != start_offset()) {
    RETURN_IF_ERROR(start_checkpoint_->Write(new_start));
    start_offset_.store(new_start, std::memory_order_release);
  }
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    std::unique_lock l(structure_mu_);
    doomed.assign(segments_.begin(), segments_.begin() + decision.delete_count);
    segments_.erase(segments_.begin(), segments_.begin() + decision.delete_count);
  }
  for (const std::shared_ptr<Segment>& seg : doomed) {
    // Unlinked now; readers still holding the segment keep their open files.
    RETURN_IF_ERROR(seg->DeleteFiles());
    ++result.segments_deleted;
    result.bytes_deleted += seg->size();
  }
  if (!doomed.empty()) RETURN_IF_ERROR(options_.fs->SyncDir(dir_));
  result.log_start_offset = start_offset();
  return result;
}

}  // namespace varve
