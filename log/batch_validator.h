#pragma once

// The rules a RecordBatch v2 must satisfy (reference §1.1, §1.2 and §1.4), checked in one place.
// ValidateBatch is the produce path: it checks one batch from a client (or, with from_client
// false, from a replica or a file) and says which rule failed and at which byte. The building
// blocks below it, CheckBatchFrame and RecordDecoder, are the only batch-framing and record
// parsers in varve: batch_reader.h iterates with them.
//
// Example:
//   ValidationOptions options;
//   options.max_message_bytes = topic.max_message_bytes;
//   BatchHeader header;
//   BatchCheck check = ValidateBatch(request_bytes, options, &header);
//   if (!check.ok()) return check.ToStatus();  // "batch at byte 17: crc_mismatch: stored ..."
//
// Order of the checks (the first failure is reported):
//   1. framing: truncated_header, length_too_small, length_beyond_buffer, too_large, bad_magic,
//      crc_mismatch, unknown_compression;
//   2. non_zero_base_offset (client), multiple_batches, bad_record_count, then the client rules
//      control_batch_from_client, missing_sequence, log_append_time_from_client;
//   3. records of uncompressed batches (check_records), in byte order. Compressed payloads are
//      opaque: no decompression here.
// Timestamp bounds (§1.4 6) and keys on compacted topics are the caller's business.
//
// Positions are absolute: options.base_position + the offset in the buffer of the offending
// field; bad_record_length, record_length_mismatch and bad_offset_delta name the record's start
// (its Length field), record_count_mismatch and trailing_record_bytes where the records end.
// Stateless and thread-safe; nothing is allocated unless a check fails.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "log/record_batch.h"

namespace varve {

enum class BatchRule {
  kOk,
  // Batch framing and header (§1.1, §1.4 1).
  kTruncatedHeader,     // fewer than kLogOverhead bytes: the BatchLength cannot be read
  kLengthTooSmall,      // 12 + BatchLength < kBatchHeaderSize
  kLengthBeyondBuffer,  // 12 + BatchLength > the bytes available (a torn batch)
  kTooLarge,            // 12 + BatchLength > max_message_bytes (MESSAGE_TOO_LARGE)
  kBadMagic,            // Magic != 2
  kCrcMismatch,         // stored CRC != CRC-32C of [21, end) (CORRUPT_MESSAGE)
  kUnknownCompression,  // compression id 5, 6 or 7
  // Batch-level rules (§1.4 2-5).
  kNonZeroBaseOffset,        // client batch with BaseOffset != 0
  kMultipleBatches,          // bytes after the first batch
  kBadRecordCount,           // RecordsCount / LastOffsetDelta inconsistent
  kControlBatchFromClient,   // client batch with the control bit
  kMissingSequence,          // client batch with ProducerId >= 0 and BaseSequence < 0
  kLogAppendTimeFromClient,  // client batch with the LogAppendTime bit (INVALID_TIMESTAMP)
  // Records (§1.2).
  kBadRecordLength,       // record Length negative or beyond the records' end
  kRecordLengthMismatch,  // the record's fields end before its Length (or Length 0)
  kBadVarint,             // a varint runs past its record's end or is too long
  kBadOffsetDelta,        // client: OffsetDelta != index; others: not increasing, or too big
  kBadKeyLength,          // KeyLength < -1 or past the record's end
  kBadValueLength,        // ValueLength < -1 or past the record's end
  kBadHeaderCount,        // HeadersCount < 0 or > the record's bytes left
  kBadHeaderKeyLength,    // header KeyLength < 0 or past the record's end
  kBadHeaderValueLength,  // header ValueLength < -1 or past the record's end
  kRecordCountMismatch,   // the records end before RecordsCount records
  kTrailingRecordBytes,   // bytes left after RecordsCount records
};

// Stable snake_case names, e.g. "crc_mismatch"; they appear in statuses and in the dump tool.
const char* BatchRuleName(BatchRule rule);

// The outcome of a check: the first rule that failed, where, and the values involved.
struct BatchCheck {
  BatchRule rule = BatchRule::kOk;
  int64_t position = 0;  // absolute byte: base position + offset in the buffer
  std::string detail;    // e.g. "stored crc 0x1234abcd, computed 0x..."

  bool ok() const { return rule == BatchRule::kOk; }
  // OkStatus for kOk. InvalidArgument for what a client did wrong (non_zero_base_offset,
  // control_batch_from_client, log_append_time_from_client, missing_sequence,
  // multiple_batches, too_large); DataLoss for format, CRC and record corruption.
  // Message: "batch at byte P: <rule name>: <detail>".
  absl::Status ToStatus() const;
};

struct ValidationOptions {
  int64_t max_message_bytes = kDefaultMaxMessageBytes;
  // §1.4 client rules: BaseOffset 0, no control batch, no LogAppendTime bit,
  // ProducerId >= 0 ⇒ BaseSequence >= 0, RecordsCount == LastOffsetDelta + 1 > 0 and
  // OffsetDelta == index. With false (replicas, files), a compacted batch is accepted: fewer
  // records than LastOffsetDelta + 1 (even none) with increasing OffsetDeltas.
  bool from_client = true;
  // Walk the records of uncompressed batches and check §1.2 (see the record rules above).
  bool check_records = true;
  // Added to reported positions (callers pass the file position).
  int64_t base_position = 0;
};

// Produce path: `bytes` must hold exactly one batch (trailing bytes or a second batch →
// kMultipleBatches). *header_out, when given, is filled as soon as the header is readable
// (the batch fits in `bytes`), even if a later rule fails.
BatchCheck ValidateBatch(absl::string_view bytes, const ValidationOptions& options,
                         BatchHeader* header_out = nullptr);

// ---- Building blocks shared with batch_reader.h ---------------------------------------------

// Checks the framing of the batch at the start of `bytes` (which may hold more after it):
// truncated_header, length_too_small, length_beyond_buffer, too_large (size >
// max_batch_bytes), bad_magic, and crc_mismatch when verify_crc. *header is filled once the
// batch fits. Positions are base_position + offset.
BatchCheck CheckBatchFrame(absl::string_view bytes, int64_t base_position, int64_t max_batch_bytes,
                           bool verify_crc, BatchHeader* header);

// One record as encoded (reference §1.2). Views point into the decoded buffer.
struct EncodedRecord {
  int64_t position;  // absolute position of the record's Length field
  int8_t attributes;
  int64_t timestamp_delta;
  int32_t offset_delta;
  std::optional<absl::string_view> key;
  std::optional<absl::string_view> value;
  int32_t header_count;
  absl::string_view headers_data;  // the encoded headers, header_count of them, validated
};

// Decodes the records of one batch in order, checking every §1.2 rule except OffsetDelta
// ordering (a batch-level policy, see ValidationOptions::from_client).
class RecordDecoder {
 public:
  // `records`: the bytes after the header of an uncompressed batch, or a decompressed stream;
  // `base_position`: the absolute position of records[0]; `count`: the batch's RecordsCount
  // (negative → kBadRecordCount at base_position).
  RecordDecoder(absl::string_view records, int64_t base_position, int32_t count);

  // Decodes the next record into *out. Returns false after the last record (check() ok) or on
  // the first malformed one (check() says which rule, where). Once it returns false it does so
  // forever.
  bool Next(EncodedRecord* out);
  const BatchCheck& check() const { return check_; }
  // Records decoded so far.
  int32_t index() const { return index_; }

 private:
  bool Fail(BatchRule rule, int64_t position, std::string detail);

  absl::string_view records_;
  int64_t base_position_;
  int32_t count_;
  int32_t index_ = 0;
  size_t pos_ = 0;
  bool done_ = false;
  BatchCheck check_;
};

// Decodes the `count` headers at the start of `data` (part of a record, §1.2), appending them
// to *out unless it is null, and on success sets *consumed to the bytes they take. Checks
// bad_varint, bad_header_key_length and bad_header_value_length; `data` ends where the record
// ends. The single header parser: RecordDecoder and RecordView::Headers() both call it.
BatchCheck DecodeHeaders(absl::string_view data, int32_t count, int64_t base_position,
                         std::vector<HeaderRef>* out, size_t* consumed);

}  // namespace varve
