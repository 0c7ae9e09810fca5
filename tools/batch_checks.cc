#include "tools/batch_checks.h"

#include <algorithm>
#include <climits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "log/batch_validator.h"

namespace varve::dump {

void CheckBatchCounts(const ScannedBatch& batch, absl::string_view file, bool allow_gaps,
                      std::vector<Problem>* problems) {
  const BatchHeader& h = batch.header;
  if (h.compression() > Compression::kZstd) {
    problems->push_back({std::string(file), batch.position, "unknown_compression",
                         absl::StrCat("compression id ", h.attributes & kCompressionMask)});
  }
  const int64_t offsets = int64_t{h.last_offset_delta} + 1;
  const bool ok = h.last_offset_delta >= 0 && h.records_count >= 0 && h.records_count <= offsets &&
                  (allow_gaps || h.records_count == offsets);
  if (!ok) {
    problems->push_back(
        {std::string(file), batch.position, "bad_record_count",
         absl::StrCat("RecordsCount ", h.records_count, ", LastOffsetDelta ", h.last_offset_delta,
                      allow_gaps ? ""
                                 : " (a dense batch has RecordsCount = "
                                   "LastOffsetDelta + 1)")});
  }
}

int64_t DecodeRecords(const ScannedBatch& batch, absl::string_view file,
                      const RecordCheckOptions& options, std::string* scratch,
                      const std::function<void(const RecordView&)>& on_record,
                      std::vector<Problem>* problems) {
  const BatchHeader& h = batch.header;
  const Compression codec = h.compression();
  if (codec > Compression::kZstd) return 0;
  const bool compressed = codec != Compression::kNone;
  const absl::string_view payload = batch.bytes.substr(kBatchHeaderSize);
  absl::string_view records = payload;
  int64_t base_position = batch.position + kBatchHeaderSize;
  if (compressed) {
    const absl::Status s = Decompress(codec, payload, options.limits, scratch);
    if (!s.ok()) {
      problems->push_back(
          {std::string(file), batch.position,
           absl::IsResourceExhausted(s) ? "decompression_limit" : "decompression_failed",
           std::string(s.message())});
      return 0;
    }
    records = *scratch;
    base_position = 0;
  }
  // Where a problem inside the records is: the file byte for an uncompressed batch; for a
  // compressed one the batch, and the byte within its decompressed records in the detail.
  auto report = [&](BatchRule rule, int64_t position, const std::string& detail) {
    problems->push_back(
        {std::string(file), compressed ? batch.position : position, BatchRuleName(rule),
         compressed ? absl::StrCat("decompressed records, byte ", position, ": ", detail)
                    : detail});
  };

  RecordDecoder decoder(records, base_position, h.records_count);
  EncodedRecord record;
  int64_t decoded = 0;
  int32_t previous_delta = -1;
  while (decoder.Next(&record)) {
    const int32_t index = decoder.index() - 1;
    const bool delta_ok = options.allow_gaps ? record.offset_delta > previous_delta &&
                                                   record.offset_delta <= h.last_offset_delta
                                             : record.offset_delta == index;
    if (!delta_ok) {
      report(
          BatchRule::kBadOffsetDelta, record.position,
          absl::StrCat("record ", index, ": OffsetDelta ", record.offset_delta,
                       options.allow_gaps ? absl::StrCat(" after ", previous_delta,
                                                         ", LastOffsetDelta ", h.last_offset_delta)
                                          : absl::StrCat(", expected ", index)));
      return decoded;
    }
    previous_delta = record.offset_delta;
    RecordView view;
    view.offset = WrappingAdd(h.base_offset, record.offset_delta);
    view.timestamp = h.timestamp_type() == TimestampType::kLogAppendTime
                         ? h.max_timestamp
                         : WrappingAdd(h.base_timestamp, record.timestamp_delta);
    view.attributes = record.attributes;
    view.key = record.key;
    view.value = record.value;
    view.header_count = record.header_count;
    view.headers_data = record.headers_data;
    on_record(view);
    ++decoded;
  }
  const BatchCheck& check = decoder.check();
  if (!check.ok()) report(check.rule, check.position, check.detail);
  return decoded;
}

void OffsetContinuity::StartSegment(const std::string& log_path, std::optional<int64_t> base_offset,
                                    std::vector<Problem>* problems) {
  if (base_offset && last_offset_ && *base_offset <= *last_offset_) {
    problems->push_back(
        {log_path, 0, "segment_overlap",
         absl::StrCat("the segment's base offset ", *base_offset, " is not above the last offset ",
                      *last_offset_, " of the segment before it")});
  }
  segment_base_ = base_offset;
  first_in_segment_ = true;
}

void OffsetContinuity::Check(const ScannedBatch& batch, absl::string_view file,
                             std::vector<Problem>* problems) {
  const int64_t base = batch.header.base_offset;
  const int64_t last = std::max(base, batch.header.last_offset());
  const std::string where = first_in_segment_ ? " (the last batch of the segment before)" : "";
  if (segment_base_ && base < *segment_base_) {
    problems->push_back({std::string(file), batch.position, "offset_below_segment_base",
                         absl::StrCat("batch offsets ", base, "-", last,
                                      " start below the segment's base offset ", *segment_base_)});
  } else if (segment_base_ && *segment_base_ <= INT64_MAX - INT32_MAX &&
             last > *segment_base_ + INT32_MAX) {
    problems->push_back(
        {std::string(file), batch.position, "offset_overflow",
         absl::StrCat("last offset ", last, " is more than 2^31-1 above the segment's base offset ",
                      *segment_base_)});
  }
  if (last_offset_) {
    const int64_t expected = WrappingAdd(*last_offset_, 1);
    if (base <= *last_offset_) {
      problems->push_back(
          {std::string(file), batch.position, "offset_overlap",
           absl::StrCat("batch offsets ", base, "-", last, " do not start after the last offset ",
                        *last_offset_, " of the batch before", where)});
    } else if (!allow_gaps_ && base != expected) {
      problems->push_back({std::string(file), batch.position, "offset_gap",
                           absl::StrCat("batch starts at offset ", base, " but the batch before",
                                        where, " ended at ", *last_offset_, ": offsets ", expected,
                                        "-", base - 1, " are missing")});
    }
  }
  last_offset_ = last;
  first_in_segment_ = false;
}

}  // namespace varve::dump
