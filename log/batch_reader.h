#pragma once

// Iterators over RecordBatch v2 bytes: BatchIterator walks batches laid back to back (a slice
// of a segment file, a fetch response), RecordIterator walks the records of one batch. Both
// parse untrusted bytes with the checks of batch_validator.h (CheckBatchFrame, RecordDecoder)
// and stop at the first malformed byte with a DataLoss status naming its position; they never
// read outside the bytes they were given.
//
// Example:
//   BatchIterator batches(slice, /*base_position=*/slice_file_position);
//   BatchView batch;
//   while (batches.Next(&batch)) {
//     RecordIterator records(batch.bytes, batch.position);
//     RecordView record;
//     while (records.Next(&record)) Print(record.offset, record.key, record.value);
//     RETURN_IF_ERROR(records.status());
//   }
//   RETURN_IF_ERROR(batches.status());  // e.g. a torn batch at the end of the active segment
//
// Views (BatchView::bytes, RecordView's keys, values and headers) point into the bytes given to
// the iterator and live as long as they do. An iterator is used by one thread at a time.
// Neither iterator applies produce-path policy (BaseOffset, counts vs LastOffsetDelta, offset
// delta order): compacted batches are read as they are. Whether an error at the end of a
// segment is a torn write to truncate is the caller's recovery policy.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "log/batch_validator.h"
#include "log/record_batch.h"

namespace varve {

// One whole batch: its decoded header, its bytes, and the absolute position of its first byte.
struct BatchView {
  BatchHeader header;
  absl::string_view bytes;
  int64_t position;
};

// Iterates batches laid back to back. Each batch's framing is checked (length, magic, and the
// CRC when verify_crc); its records are not parsed.
class BatchIterator {
 public:
  // `base_position` is the absolute position of bytes[0], used in positions and errors.
  BatchIterator(absl::string_view bytes, int64_t base_position = 0, bool verify_crc = true);

  // Returns the next batch; false at a clean end (status() ok) or on error.
  bool Next(BatchView* out);
  // DataLoss naming the byte position and reason on a malformed or truncated batch, e.g.
  // "batch at byte 140: length_beyond_buffer (byte 148): BatchLength 58 makes ...".
  const absl::Status& status() const { return status_; }
  // Absolute position just past the last batch returned: on error, where the bad batch starts
  // (the length of the valid prefix is position() - base_position).
  int64_t position() const { return base_position_ + static_cast<int64_t>(pos_); }

 private:
  absl::string_view bytes_;
  int64_t base_position_;
  bool verify_crc_;
  size_t pos_ = 0;
  absl::Status status_;
};

// One record with its absolute offset and timestamp.
struct RecordView {
  int64_t offset;     // base_offset + OffsetDelta
  int64_t timestamp;  // base_timestamp + TimestampDelta, or max_timestamp for LogAppendTime
  int8_t attributes;
  std::optional<absl::string_view> key, value;  // std::nullopt = null
  int32_t header_count;
  absl::string_view headers_data;  // raw encoded headers
  // Decodes headers_data (already validated by the iterator). Allocates the vector.
  std::vector<HeaderRef> Headers() const;
};

// Iterates the records of one batch. For uncompressed batches pass the whole batch; for a
// batch whose records were decompressed elsewhere (the dump tool) use the second constructor
// with the decompressed records stream.
class RecordIterator {
 public:
  // `batch` holds one whole batch (the CRC is not checked again: BatchIterator did that);
  // `base_position` is its absolute position, used in errors. A compressed batch gives
  // Next() false with status Unimplemented("... compressed with zstd; decode it first").
  explicit RecordIterator(absl::string_view batch, int64_t base_position = 0);
  // `records_data` holds header.records_count records; positions in errors are offsets into
  // it.
  RecordIterator(const BatchHeader& header, absl::string_view records_data);

  // Returns the next record; false after the last one (status() ok) or on error.
  bool Next(RecordView* out);
  // DataLoss naming the position and rule on malformed records (and on a malformed batch
  // frame given to the first constructor); Unimplemented for a compressed batch.
  const absl::Status& status() const { return status_; }

 private:
  BatchHeader header_;
  RecordDecoder decoder_;
  absl::Status status_;
};

}  // namespace varve
