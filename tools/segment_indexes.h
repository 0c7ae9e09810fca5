#pragma once

// A segment's two index files as varve-dump handles them: opened read-only, their entries
// printed (--indexes), and checked against the segment's batches (index_check.h) either in the
// same pass as the batch checks (--verify) or in a pass of their own.
//
// Example (a pass of its own):
//   SegmentIndexes indexes(ctx, seg);
//   indexes.PrintEntries();
//   indexes.CheckAgainstLog(/*sealed=*/true);

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "tools/dump_context.h"
#include "tools/dump_inputs.h"
#include "tools/index_check.h"
#include "tools/segment_scanner.h"

namespace varve::dump {

class SegmentIndexes {
 public:
  // Opens the index files `seg` has (I/O errors are recorded in ctx); reports a partial entry
  // at the end of a file as a problem and a preallocated zero tail as a note. A segment file
  // name without a base offset is read as base 0, with a note.
  SegmentIndexes(DumpContext* ctx, const SegmentFiles& seg);

  // "Dumping <file>" and one line per entry, for each index file.
  void PrintEntries();

  // Feed every batch of the segment, in file order, then Finish. `data_end`: where the last
  // readable batch ends; `sealed`: a later segment exists (its time index must end with the
  // segment's largest timestamp).
  void OnBatch(const ScannedBatch& batch);
  void Finish(int64_t data_end, bool sealed);

  // A pass of its own over the segment's `.log` (if it has one; otherwise only the order of
  // the entries is checked), then Finish. Problems of the `.log` itself are not reported here.
  void CheckAgainstLog(bool sealed);

  // Whole entries in both files (the zero tail not included).
  int64_t entries() const;
  bool empty() const { return offset_index_ == nullptr && time_index_ == nullptr; }

 private:
  std::unique_ptr<IndexFile> OpenIndex(const std::string& path, IndexFile::Kind kind);
  void Check(absl::Status status);

  DumpContext* const ctx_;
  const SegmentFiles seg_;
  int64_t base_offset_;
  std::vector<Problem> problems_;
  std::unique_ptr<IndexFile> offset_index_, time_index_;
  std::optional<OffsetIndexChecker> offset_checker_;
  std::optional<TimeIndexChecker> time_checker_;
};

}  // namespace varve::dump
