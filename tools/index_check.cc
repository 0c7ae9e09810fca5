#include "tools/index_check.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "base/status_macros.h"

namespace varve::dump {
namespace {

// Bytes read at a time when looking for the zero tail from the end.
constexpr int64_t kTailBlockEntries = 4096;

std::string Describe(const OffsetPosition& e) {
  return absl::StrCat("(offset ", e.offset, ", position ", e.position, ")");
}
std::string Describe(const TimestampOffset& e) {
  return absl::StrCat("(timestamp ", e.timestamp, ", offset ", e.offset, ")");
}

}  // namespace

absl::StatusOr<std::unique_ptr<IndexFile>> IndexFile::Open(FileSystem* fs, const std::string& path,
                                                           Kind kind, int64_t base_offset,
                                                           int64_t chunk_bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyFile> file, ReadOnlyFile::Open(fs, path, chunk_bytes));
  std::unique_ptr<IndexFile> index(new IndexFile(std::move(file), kind, base_offset));
  const int64_t es = index->entry_size();
  int64_t end = index->file_->size() / es;  // in entries
  // Walk back over all-zero entries, a block at a time; a trimmed index costs one entry's read.
  auto zero = [](absl::string_view entry) {
    return std::all_of(entry.begin(), entry.end(), [](char c) { return c == 0; });
  };
  bool zero_tail = false;
  if (end > 0) {
    ASSIGN_OR_RETURN(absl::string_view last,
                     index->file_->Read((end - 1) * es, es, /*read_ahead=*/false));
    zero_tail = zero(last);
  }
  while (zero_tail && end > 0) {
    const int64_t start = std::max<int64_t>(0, end - kTailBlockEntries);
    ASSIGN_OR_RETURN(absl::string_view block,
                     index->file_->Read(start * es, (end - start) * es, /*read_ahead=*/false));
    int64_t i = end;
    while (i > start &&
           zero(block.substr(static_cast<size_t>((i - 1 - start) * es), static_cast<size_t>(es)))) {
      --i;
    }
    if (i > start) {
      end = i;
      break;
    }
    end = start;
  }
  index->entries_ = end;
  index->zero_tail_ = index->file_->size() / es - end;
  return index;
}

absl::StatusOr<OffsetPosition> IndexFile::OffsetEntry(int64_t i, bool read_ahead) {
  ASSIGN_OR_RETURN(absl::string_view e,
                   file_->Read(EntryPosition(i), kOffsetIndexEntrySize, read_ahead));
  const int32_t relative = static_cast<int32_t>(LoadBE32(e.data() + kOffsetIndexRelativeOffsetAt));
  const int32_t position = static_cast<int32_t>(LoadBE32(e.data() + kOffsetIndexPositionAt));
  return OffsetPosition{base_offset_ + relative, position};
}

absl::StatusOr<TimestampOffset> IndexFile::TimeEntry(int64_t i, bool read_ahead) {
  ASSIGN_OR_RETURN(absl::string_view e,
                   file_->Read(EntryPosition(i), kTimeIndexEntrySize, read_ahead));
  const int64_t timestamp = static_cast<int64_t>(LoadBE64(e.data() + kTimeIndexTimestampAt));
  const int32_t relative = static_cast<int32_t>(LoadBE32(e.data() + kTimeIndexRelativeOffsetAt));
  return TimestampOffset{timestamp, base_offset_ + relative};
}

std::optional<Problem> IndexFile::PartialEntryProblem() const {
  if (partial_bytes() == 0) return std::nullopt;
  const int64_t whole = file_->size() / entry_size();
  return Problem{
      path(), EntryPosition(whole),
      kind_ == Kind::kOffset ? "index_partial_entry" : "time_index_partial_entry",
      absl::StrCat("the file is ", file_->size(), " bytes, not a multiple of ", entry_size(), ": ",
                   partial_bytes(), " bytes of a cut-off entry at the end")};
}

absl::StatusOr<std::optional<OffsetPosition>> LookupOffset(IndexFile* index, int64_t target,
                                                           int64_t* entry_number) {
  const int64_t n = index->entries();
  if (n == 0) return std::nullopt;
  ASSIGN_OR_RETURN(OffsetPosition first, index->OffsetEntry(0, false));
  if (first.offset > target) return std::nullopt;
  int64_t low = 0, high = n;  // entry `low` is <= target; entries from `high` on are not
  while (high - low > 1) {
    const int64_t mid = low + (high - low) / 2;
    ASSIGN_OR_RETURN(OffsetPosition e, index->OffsetEntry(mid, false));
    (e.offset <= target ? low : high) = mid;
  }
  *entry_number = low;
  return index->OffsetEntry(low, false);
}

absl::StatusOr<std::optional<TimestampOffset>> LookupTimestamp(IndexFile* index, int64_t target) {
  const int64_t n = index->entries();
  if (n == 0) return std::nullopt;
  ASSIGN_OR_RETURN(TimestampOffset first, index->TimeEntry(0, false));
  if (first.timestamp > target) return std::nullopt;
  int64_t low = 0, high = n;
  while (high - low > 1) {
    const int64_t mid = low + (high - low) / 2;
    ASSIGN_OR_RETURN(TimestampOffset e, index->TimeEntry(mid, false));
    (e.timestamp <= target ? low : high) = mid;
  }
  return index->TimeEntry(low, false);
}

// ---- OffsetIndexChecker ---------------------------------------------------------------------

void OffsetIndexChecker::Report(int64_t entry, std::string rule, std::string detail) {
  problems_->push_back({index_->path(), index_->EntryPosition(entry), std::move(rule),
                        absl::StrCat("entry ", entry, " ", std::move(detail))});
}

absl::StatusOr<bool> OffsetIndexChecker::Load(OffsetPosition* entry) {
  if (loaded_) {
    *entry = *loaded_;
    return true;
  }
  for (; next_ < index_->entries(); ++next_) {
    ASSIGN_OR_RETURN(OffsetPosition e, index_->OffsetEntry(next_));
    if (e.offset < index_->base_offset()) {
      Report(
          next_, "index_offset_below_base",
          absl::StrCat(Describe(e), ": below the segment's base offset ", index_->base_offset()));
    } else if (e.position < 0) {
      Report(next_, "index_not_batch_start", absl::StrCat(Describe(e), ": negative position"));
    } else if (previous_ && e.offset <= previous_->offset) {
      Report(next_, "index_offset_not_increasing",
             absl::StrCat(Describe(e), ": not above the offset of the entry before, ",
                          previous_->offset));
    } else if (previous_ && e.position <= previous_->position) {
      Report(next_, "index_position_not_increasing",
             absl::StrCat(Describe(e), ": not above the position of the entry before, ",
                          previous_->position));
    } else {
      loaded_ = e;
      *entry = e;
      return true;
    }
  }
  return false;
}

void OffsetIndexChecker::FailPending() {
  Report(pending_->entry, "index_offset_mismatch",
         absl::StrCat(Describe(pending_->value), ": the batch at byte ", pending_->batch_position,
                      " does not end at offset ", pending_->value.offset,
                      ", and no batch ending there follows before the next entry"));
  pending_.reset();
}

absl::Status OffsetIndexChecker::OnBatch(const ScannedBatch& batch) {
  const int64_t position = batch.position;
  const BatchHeader& h = batch.header;
  const int64_t last = h.last_offset();
  OffsetPosition e;
  if (pending_) {
    ASSIGN_OR_RETURN(bool more, Load(&e));
    if (more && e.position <= position) {
      FailPending();
    } else if (last == pending_->value.offset) {
      pending_.reset();  // the append ended with this batch
    } else if (h.base_offset > pending_->value.offset) {
      FailPending();
    }
  }
  while (true) {
    ASSIGN_OR_RETURN(bool more, Load(&e));
    if (!more || e.position > position) break;
    if (e.position < position) {
      Report(next_, "index_not_batch_start",
             absl::StrCat(
                 Describe(e), ": no batch starts at byte ", e.position,
                 previous_batch_position_ >= 0
                     ? absl::StrCat(" (the batches around it start at bytes ",
                                    previous_batch_position_, " and ", position, ")")
                     : absl::StrCat(" (the first batch after it starts at byte ", position, ")")));
    } else if (e.offset > last) {
      pending_ = Pending{next_, e, position};
    } else if (e.offset != last) {
      Report(next_, "index_offset_mismatch",
             absl::StrCat(Describe(e), ": the batch at byte ", position, " holds offsets ",
                          h.base_offset, "-", last, "; an entry names a batch's last offset"));
    }
    previous_ = e;
    loaded_.reset();
    ++next_;
  }
  previous_batch_position_ = position;
  return absl::OkStatus();
}

absl::Status OffsetIndexChecker::Finish(int64_t data_end) {
  if (pending_) FailPending();
  OffsetPosition e;
  while (true) {
    ASSIGN_OR_RETURN(bool more, Load(&e));
    if (!more) break;
    Report(next_, "index_not_batch_start",
           absl::StrCat(Describe(e), ": no batch starts at byte ", e.position,
                        " (the readable batches end at byte ", data_end, ")"));
    previous_ = e;
    loaded_.reset();
    ++next_;
  }
  return absl::OkStatus();
}

absl::Status OffsetIndexChecker::CheckOrderOnly() {
  OffsetPosition e;
  while (true) {
    ASSIGN_OR_RETURN(bool more, Load(&e));
    if (!more) return absl::OkStatus();
    previous_ = e;
    loaded_.reset();
    ++next_;
  }
}

// ---- TimeIndexChecker -----------------------------------------------------------------------

void TimeIndexChecker::Report(int64_t entry, std::string rule, std::string detail) {
  problems_->push_back({index_->path(), index_->EntryPosition(entry), std::move(rule),
                        absl::StrCat("entry ", entry, " ", std::move(detail))});
}

absl::StatusOr<bool> TimeIndexChecker::Load(TimestampOffset* entry) {
  if (loaded_) {
    *entry = *loaded_;
    return true;
  }
  for (; next_ < index_->entries(); ++next_) {
    ASSIGN_OR_RETURN(TimestampOffset e, index_->TimeEntry(next_));
    if (e.offset < index_->base_offset()) {
      Report(
          next_, "time_index_offset_below_base",
          absl::StrCat(Describe(e), ": below the segment's base offset ", index_->base_offset()));
    } else if (previous_ && e.timestamp <= previous_->timestamp) {
      Report(next_, "time_index_timestamp_not_increasing",
             absl::StrCat(Describe(e), ": not above the timestamp of the entry before, ",
                          previous_->timestamp));
    } else if (previous_ && e.offset < previous_->offset) {
      Report(
          next_, "time_index_offset_decreasing",
          absl::StrCat(Describe(e), ": below the offset of the entry before, ", previous_->offset));
    } else {
      loaded_ = e;
      *entry = e;
      return true;
    }
  }
  return false;
}

absl::Status TimeIndexChecker::OnBatch(const ScannedBatch& batch) {
  const BatchHeader& h = batch.header;
  const int64_t last = std::max(h.base_offset, h.last_offset());
  if (h.max_timestamp > max_timestamp_) {
    max_timestamp_ = h.max_timestamp;
    max_timestamp_position_ = batch.position;
  }
  TimestampOffset e;
  while (true) {
    ASSIGN_OR_RETURN(bool more, Load(&e));
    if (!more || e.offset > last) break;
    if (e.offset < h.base_offset) {
      Report(next_, "time_index_offset_not_in_batch",
             absl::StrCat(Describe(e), ": no batch holds offset ", e.offset,
                          " (the next batch holds ", h.base_offset, "-", last, ")"));
    } else if (e.timestamp != h.max_timestamp) {
      Report(next_, "time_index_timestamp_mismatch",
             absl::StrCat(Describe(e), ": the batch holding offset ", e.offset, " (at byte ",
                          batch.position, ") has MaxTimestamp ", h.max_timestamp));
    } else if (e.timestamp != max_timestamp_) {
      Report(next_, "time_index_timestamp_mismatch",
             absl::StrCat(Describe(e), ": the batch at byte ", max_timestamp_position_,
                          ", before it, has a larger MaxTimestamp ", max_timestamp_));
    }
    previous_ = e;
    loaded_.reset();
    ++next_;
  }
  return absl::OkStatus();
}

absl::Status TimeIndexChecker::Finish(bool sealed) {
  TimestampOffset e;
  while (true) {
    ASSIGN_OR_RETURN(bool more, Load(&e));
    if (!more) break;
    Report(next_, "time_index_offset_not_in_batch",
           absl::StrCat(Describe(e), ": past the last readable batch"));
    previous_ = e;
    loaded_.reset();
    ++next_;
  }
  if (sealed && max_timestamp_ >= 0 && (!previous_ || previous_->timestamp != max_timestamp_)) {
    problems_->push_back(
        {index_->path(), index_->EntryPosition(index_->entries()), "time_index_missing_final_entry",
         absl::StrCat("the segment's largest timestamp is ", max_timestamp_, " (batch at byte ",
                      max_timestamp_position_, ") but ",
                      previous_ ? absl::StrCat("the last entry has ", previous_->timestamp)
                                : std::string("the index has no entry"),
                      "; a sealed segment's time index ends with it")});
  }
  return absl::OkStatus();
}

absl::Status TimeIndexChecker::CheckOrderOnly() {
  TimestampOffset e;
  while (true) {
    ASSIGN_OR_RETURN(bool more, Load(&e));
    if (!more) return absl::OkStatus();
    previous_ = e;
    loaded_.reset();
    ++next_;
  }
}

}  // namespace varve::dump
