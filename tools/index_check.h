#pragma once

// varve-dump's view of a segment's index files (formats: index/index_format.h) and the checks
// of their entries against the segment's batches. The files are read through ReadOnlyFile,
// never mapped or opened for writing, and nothing in them is trusted: a hostile index can
// only produce problems.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<IndexFile> index,
//                    IndexFile::Open(fs, path, IndexFile::Kind::kOffset, base, chunk));
//   OffsetIndexChecker checker(index.get(), log_path, &problems);
//   while (scanner.Next(&batch, &scan_problems)) RETURN_IF_ERROR(checker.OnBatch(batch));
//   RETURN_IF_ERROR(checker.Finish(log_size));
//
// What is checked (rule names in docs/tools.md):
//   both    a partial entry at the end (*_partial_entry); entries out of order (offsets
//           strictly increasing in .index, not decreasing in .timeindex; positions and
//           timestamps strictly increasing) or below the segment's base offset;
//   .index  every entry (O, P) points at the start of a batch (index_not_batch_start) whose
//           last offset is O (index_offset_mismatch); Kafka's followers index a whole append
//           of several batches under its first batch's position and its last batch's last
//           offset, which is accepted when that last batch comes before the next entry;
//   .timeindex  every entry (T, O) names an offset O held by a batch whose MaxTimestamp is T
//           and T is the largest timestamp up to that batch; a sealed segment's last entry
//           holds the segment's largest timestamp (time_index_missing_final_entry).
// A run of all-zero entries at the end is the preallocated space of an active (or crashed)
// segment: it is not data, and is counted in zero_tail() instead.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/file.h"
#include "index/offset_index.h"
#include "index/time_index.h"
#include "tools/dump_output.h"
#include "tools/segment_scanner.h"

namespace varve::dump {

class IndexFile {
 public:
  enum class Kind { kOffset, kTime };

  static absl::StatusOr<std::unique_ptr<IndexFile>> Open(FileSystem* fs, const std::string& path,
                                                         Kind kind, int64_t base_offset,
                                                         int64_t chunk_bytes);

  const std::string& path() const { return file_->path(); }
  int64_t base_offset() const { return base_offset_; }
  int entry_size() const {
    return kind_ == Kind::kOffset ? kOffsetIndexEntrySize : kTimeIndexEntrySize;
  }
  // Whole entries before the zero tail.
  int64_t entries() const { return entries_; }
  // All-zero entries at the end (preallocated space).
  int64_t zero_tail() const { return zero_tail_; }
  // Bytes after the last whole entry (a torn or truncated file when not 0).
  int64_t partial_bytes() const { return file_->size() % entry_size(); }
  int64_t EntryPosition(int64_t i) const { return i * entry_size(); }

  // Entry i (0 <= i < entries()) with its absolute offset; kOffset files only. `read_ahead`
  // false for random probes (a binary search), true when walking the entries in order.
  absl::StatusOr<OffsetPosition> OffsetEntry(int64_t i, bool read_ahead = true);
  // kTime files only.
  absl::StatusOr<TimestampOffset> TimeEntry(int64_t i, bool read_ahead = true);

  // The partial-entry problem, if the file has one.
  std::optional<Problem> PartialEntryProblem() const;

 private:
  IndexFile(std::unique_ptr<ReadOnlyFile> file, Kind kind, int64_t base_offset)
      : file_(std::move(file)), kind_(kind), base_offset_(base_offset) {}

  std::unique_ptr<ReadOnlyFile> file_;
  const Kind kind_;
  const int64_t base_offset_;
  int64_t entries_ = 0;
  int64_t zero_tail_ = 0;
};

// The entry to start a scan for `target` from: the last entry with an offset <= target, found
// by binary search (or nullopt: start at the segment's beginning), and its number in
// *entry_number. An index out of order gives some entry; callers check that it points at a
// batch.
absl::StatusOr<std::optional<OffsetPosition>> LookupOffset(IndexFile* index, int64_t target,
                                                           int64_t* entry_number);
// The last time-index entry with a timestamp <= target, or nullopt.
absl::StatusOr<std::optional<TimestampOffset>> LookupTimestamp(IndexFile* index, int64_t target);

// Checks an offset index against its segment's batches, which must be fed in file order.
class OffsetIndexChecker {
 public:
  // Problems go to *problems; the index must outlive the checker.
  OffsetIndexChecker(IndexFile* index, std::vector<Problem>* problems)
      : index_(index), problems_(problems) {}

  absl::Status OnBatch(const ScannedBatch& batch);
  // After the last batch: the entries left point past the data, which ends at `data_end`.
  absl::Status Finish(int64_t data_end);
  // Without the segment's data: only the order of the entries.
  absl::Status CheckOrderOnly();

 private:
  // Loads entry next_ and checks its order; false (and a problem) if it is out of order.
  absl::StatusOr<bool> Load(OffsetPosition* entry);
  void Report(int64_t entry, std::string rule, std::string detail);
  void FailPending();

  IndexFile* const index_;
  std::vector<Problem>* const problems_;
  int64_t next_ = 0;
  std::optional<OffsetPosition> previous_;  // the last in-order entry
  std::optional<OffsetPosition> loaded_;    // entry next_, loaded and in order
  // An entry at a batch start whose offset is beyond that batch: a multi-batch append, as long
  // as a batch ending at that offset follows before the next entry.
  struct Pending {
    int64_t entry;
    OffsetPosition value;
    int64_t batch_position;
  };
  std::optional<Pending> pending_;
  int64_t previous_batch_position_ = -1;
};

// Checks a time index against its segment's batches, fed in file order.
class TimeIndexChecker {
 public:
  TimeIndexChecker(IndexFile* index, std::vector<Problem>* problems)
      : index_(index), problems_(problems) {}

  absl::Status OnBatch(const ScannedBatch& batch);
  // `sealed`: the segment is not its log's last, so it must end with the final entry.
  absl::Status Finish(bool sealed);
  absl::Status CheckOrderOnly();

 private:
  absl::StatusOr<bool> Load(TimestampOffset* entry);
  void Report(int64_t entry, std::string rule, std::string detail);

  IndexFile* const index_;
  std::vector<Problem>* const problems_;
  int64_t next_ = 0;
  std::optional<TimestampOffset> previous_;
  std::optional<TimestampOffset> loaded_;
  int64_t max_timestamp_ = kNoTimestamp;  // largest MaxTimestamp of the batches so far
  int64_t max_timestamp_position_ = -1;
};

}  // namespace varve::dump
