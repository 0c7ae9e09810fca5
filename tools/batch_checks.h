#pragma once

// The checks varve-dump applies to a batch beyond its framing (which BatchScanner does): its
// counts, its records (decompressed when needed) and its offsets relative to the batches
// before it, in its segment and across segments. Each failure is a Problem with a stable rule
// name (docs/tools.md lists them).
//
// Example:
//   OffsetContinuity offsets(/*allow_gaps=*/false);
//   offsets.StartSegment(path, segment_base);
//   while (scanner.Next(&batch, &problems)) {
//     CheckBatchCounts(batch, path, false, &problems);
//     offsets.Check(batch, &problems);
//     DecodeRecords(batch, path, options, &scratch, on_record, &problems);
//   }
//
// Policy: varve's logs are dense (docs/format.md): every offset from a segment's first batch to
// the log end is in exactly one batch and one record. --allow-gaps relaxes that to "strictly
// increasing", which is what Kafka guarantees for compacted logs.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "log/batch_reader.h"
#include "log/compression/decompress.h"
#include "tools/dump_output.h"
#include "tools/segment_scanner.h"

namespace varve::dump {

// unknown_compression (ids 5-7) and bad_record_count (LastOffsetDelta < 0, RecordsCount < 0 or
// above LastOffsetDelta + 1, or, without allow_gaps, different from it).
void CheckBatchCounts(const ScannedBatch& batch, absl::string_view file, bool allow_gaps,
                      std::vector<Problem>* problems);

struct RecordCheckOptions {
  bool allow_gaps = false;
  DecompressLimits limits;
};

// Decodes the records of `batch`, decompressing its payload into *scratch if it is compressed,
// and calls `on_record` for each record that decodes, in order. Stops at the first problem:
// decompression_failed, decompression_limit, one of the record rules of batch_validator.h
// (bad_varint, record_count_mismatch, ...), or bad_offset_delta when the records' offsets are
// not base_offset, base_offset + 1, ... (with allow_gaps: increasing, at most the last offset).
// Returns the number of records passed to `on_record`. A batch with an unknown codec yields
// nothing (CheckBatchCounts reports it). Views passed to on_record point into `batch.bytes` or
// *scratch.
int64_t DecodeRecords(const ScannedBatch& batch, absl::string_view file,
                      const RecordCheckOptions& options, std::string* scratch,
                      const std::function<void(const RecordView&)>& on_record,
                      std::vector<Problem>* problems);

// Offsets across the batches of a log: each batch starts right after the previous one
// (offset_gap, offset_overlap), never below its segment's base offset
// (offset_below_segment_base) and never more than INT32_MAX above it (offset_overflow); a
// segment's base offset is above everything before it (segment_overlap).
class OffsetContinuity {
 public:
  explicit OffsetContinuity(bool allow_gaps) : allow_gaps_(allow_gaps) {}

  // A new segment (file `log_path`) begins; its base offset comes from its name, if it has one.
  void StartSegment(const std::string& log_path, std::optional<int64_t> base_offset,
                    std::vector<Problem>* problems);
  // Checks `batch` against what came before, then remembers it.
  void Check(const ScannedBatch& batch, absl::string_view file, std::vector<Problem>* problems);

  // The last offset of the last batch seen, if any.
  std::optional<int64_t> last_offset() const { return last_offset_; }

 private:
  const bool allow_gaps_;
  std::optional<int64_t> segment_base_;
  bool first_in_segment_ = true;
  std::optional<int64_t> last_offset_;
};

}  // namespace varve::dump
