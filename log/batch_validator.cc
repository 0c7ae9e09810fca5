#include "log/batch_validator.h"

#include <cassert>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "log/varint.h"

namespace varve {
namespace {

BatchCheck Failure(BatchRule rule, int64_t position, std::string detail) {
  return BatchCheck{rule, position, std::move(detail)};
}

// A read cursor over untrusted bytes: no read goes past the end of `data`.
class Cursor {
 public:
  Cursor(absl::string_view data, int64_t base_position)
      : begin_(data.data()),
        p_(data.data()),
        limit_(data.data() + data.size()),
        base_position_(base_position) {}

  int64_t position() const { return base_position_ + (p_ - begin_); }
  size_t left() const { return static_cast<size_t>(limit_ - p_); }

  bool Var(int32_t* v) { return Advance(GetVarint(p_, limit_, v)); }
  bool Var(int64_t* v) { return Advance(GetVarlong(p_, limit_, v)); }
  int8_t Byte() {
    assert(p_ < limit_);
    return static_cast<int8_t>(*p_++);
  }
  absl::string_view Take(size_t n) {
    assert(n <= left());
    absl::string_view taken(p_, n);
    p_ += n;
    return taken;
  }
  // A cursor over the next n bytes (n <= left()), which this one skips.
  Cursor Sub(size_t n) {
    const int64_t at = position();
    return Cursor(Take(n), at);
  }
  absl::string_view Rest() const { return absl::string_view(p_, left()); }

 private:
  bool Advance(const char* next) {
    if (next == nullptr) return false;
    p_ = next;
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* limit_;
  int64_t base_position_;
};

// A length-prefixed field of a record: which rule guards its length, and the smallest length
// allowed (-1 where null is allowed).
struct FieldRule {
  BatchRule rule;
  int32_t min_length;
  const char* name;  // of the length field
};
constexpr FieldRule kKeyField{BatchRule::kBadKeyLength, -1, "KeyLength"};
constexpr FieldRule kValueField{BatchRule::kBadValueLength, -1, "ValueLength"};
constexpr FieldRule kHeaderKeyField{BatchRule::kBadHeaderKeyLength, 0, "header KeyLength"};
constexpr FieldRule kHeaderValueField{BatchRule::kBadHeaderValueLength, -1, "header ValueLength"};

// The helpers below return false on the first rule broken and describe it in *fail; they
// write nothing to *fail on success, so a record costs no string work unless it is bad. The
// failure paths are kept out of line so the hot path inlines.

ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void FailVarint(int64_t position, const char* name,
                                                            BatchCheck* fail) {
  *fail = Failure(BatchRule::kBadVarint, position,
                  absl::StrCat(name, " varint is truncated or longer than its maximum width"));
}

ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void FailField(const FieldRule& field, int64_t position,
                                                           int32_t length, size_t left,
                                                           BatchCheck* fail) {
  *fail = Failure(field.rule, position,
                  absl::StrCat(field.name, " ", length, ", ", left, " bytes left in the record"));
}

// Reads a varint (int32_t) or varlong (int64_t).
template <typename T>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool ReadVar(Cursor* c, const char* name, T* v,
                                                 BatchCheck* fail) {
  const int64_t at = c->position();
  if (ABSL_PREDICT_TRUE(c->Var(v))) return true;
  FailVarint(at, name, fail);
  return false;
}

// Reads a length-prefixed field: a null field (length -1) becomes std::nullopt.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool ReadField(Cursor* c, const FieldRule& field,
                                                   std::optional<absl::string_view>* out,
                                                   BatchCheck* fail) {
  const int64_t at = c->position();
  int32_t length;
  if (!ReadVar(c, field.name, &length, fail)) return false;
  if (ABSL_PREDICT_FALSE(length < field.min_length ||
                         (length > 0 && static_cast<size_t>(length) > c->left()))) {
    FailField(field, at, length, c->left(), fail);
    return false;
  }
  if (length < 0) {
    out->reset();
  } else {
    *out = c->Take(static_cast<size_t>(length));
  }
  return true;
}

bool ReadHeaders(Cursor* c, int32_t count, std::vector<HeaderRef>* out, BatchCheck* fail) {
  std::optional<absl::string_view> key;
  std::optional<absl::string_view> value;
  for (int32_t i = 0; i < count; ++i) {
    if (!ReadField(c, kHeaderKeyField, &key, fail) ||
        !ReadField(c, kHeaderValueField, &value, fail)) {
      fail->detail = absl::StrCat("header ", i, ": ", fail->detail);
      return false;
    }
    if (out != nullptr) out->push_back(HeaderRef{*key, value});
  }
  return true;
}

// Decodes the fields after a record's Length; `r` covers exactly Length bytes.
bool ReadRecordBody(Cursor* r, int64_t start, int32_t length, EncodedRecord* out,
                    BatchCheck* fail) {
  if (r->left() == 0) {
    *fail =
        Failure(BatchRule::kRecordLengthMismatch, start, "Length 0 leaves no room for its fields");
    return false;
  }
  out->attributes = r->Byte();
  if (!ReadVar(r, "TimestampDelta", &out->timestamp_delta, fail) ||
      !ReadVar(r, "OffsetDelta", &out->offset_delta, fail) ||
      !ReadField(r, kKeyField, &out->key, fail) || !ReadField(r, kValueField, &out->value, fail)) {
    return false;
  }
  const int64_t count_at = r->position();
  if (!ReadVar(r, "HeadersCount", &out->header_count, fail)) return false;
  // Kafka's bound: no more headers than bytes left.
  if (out->header_count < 0 || static_cast<size_t>(out->header_count) > r->left()) {
    *fail = Failure(BatchRule::kBadHeaderCount, count_at,
                    absl::StrCat("HeadersCount ", out->header_count, ", ", r->left(),
                                 " bytes left in the record"));
    return false;
  }
  out->headers_data = r->Rest();
  if (!ReadHeaders(r, out->header_count, nullptr, fail)) return false;
  if (r->left() != 0) {
    *fail = Failure(
        BatchRule::kRecordLengthMismatch, start,
        absl::StrCat("Length ", length, " but the fields end ", r->left(), " bytes earlier"));
    return false;
  }
  return true;
}

}  // namespace

const char* BatchRuleName(BatchRule rule) {
  switch (rule) {
    case BatchRule::kOk:
      return "ok";
    case BatchRule::kTruncatedHeader:
      return "truncated_header";
    case BatchRule::kLengthTooSmall:
      return "length_too_small";
    case BatchRule::kLengthBeyondBuffer:
      return "length_beyond_buffer";
    case BatchRule::kTooLarge:
      return "too_large";
    case BatchRule::kBadMagic:
      return "bad_magic";
    case BatchRule::kCrcMismatch:
      return "crc_mismatch";
    case BatchRule::kUnknownCompression:
      return "unknown_compression";
    case BatchRule::kNonZeroBaseOffset:
      return "non_zero_base_offset";
    case BatchRule::kMultipleBatches:
      return "multiple_batches";
    case BatchRule::kBadRecordCount:
      return "bad_record_count";
    case BatchRule::kControlBatchFromClient:
      return "control_batch_from_client";
    case BatchRule::kMissingSequence:
      return "missing_sequence";
    case BatchRule::kLogAppendTimeFromClient:
      return "log_append_time_from_client";
    case BatchRule::kBadRecordLength:
      return "bad_record_length";
    case BatchRule::kRecordLengthMismatch:
      return "record_length_mismatch";
    case BatchRule::kBadVarint:
      return "bad_varint";
    case BatchRule::kBadOffsetDelta:
      return "bad_offset_delta";
    case BatchRule::kBadKeyLength:
      return "bad_key_length";
    case BatchRule::kBadValueLength:
      return "bad_value_length";
    case BatchRule::kBadHeaderCount:
      return "bad_header_count";
    case BatchRule::kBadHeaderKeyLength:
      return "bad_header_key_length";
    case BatchRule::kBadHeaderValueLength:
      return "bad_header_value_length";
    case BatchRule::kRecordCountMismatch:
      return "record_count_mismatch";
    case BatchRule::kTrailingRecordBytes:
      return "trailing_record_bytes";
  }
  return "unknown";
}

absl::Status BatchCheck::ToStatus() const {
  if (ok()) return absl::OkStatus();
  std::string message =
      absl::StrCat("batch at byte ", position, ": ", BatchRuleName(rule), ": ", detail);
  switch (rule) {
    case BatchRule::kNonZeroBaseOffset:
    case BatchRule::kControlBatchFromClient:
    case BatchRule::kLogAppendTimeFromClient:
    case BatchRule::kMissingSequence:
    case BatchRule::kMultipleBatches:
    case BatchRule::kTooLarge:
      return absl::InvalidArgumentError(message);
    default:
      return absl::DataLossError(message);
  }
}

BatchCheck CheckBatchFrame(absl::string_view bytes, int64_t base_position, int64_t max_batch_bytes,
                           bool verify_crc, BatchHeader* header) {
  assert(header != nullptr);
  if (bytes.size() < static_cast<size_t>(kLogOverhead)) {
    return Failure(BatchRule::kTruncatedHeader, base_position,
                   absl::StrCat(bytes.size(), " bytes left, a batch needs ", kLogOverhead,
                                " to give its length"));
  }
  const int32_t batch_length = static_cast<int32_t>(LoadBE32(bytes.data() + kBatchLengthPos));
  const int64_t size = kLogOverhead + int64_t{batch_length};
  const int64_t length_position = base_position + kBatchLengthPos;
  if (size < kBatchHeaderSize) {
    return Failure(BatchRule::kLengthTooSmall, length_position,
                   absl::StrCat("BatchLength ", batch_length, ", the minimum is ",
                                kBatchHeaderSize - kLogOverhead));
  }
  if (size > static_cast<int64_t>(bytes.size())) {
    return Failure(BatchRule::kLengthBeyondBuffer, length_position,
                   absl::StrCat("BatchLength ", batch_length, " makes a ", size,
                                "-byte batch, only ", bytes.size(), " bytes left"));
  }
  if (size > max_batch_bytes) {
    return Failure(BatchRule::kTooLarge, length_position,
                   absl::StrCat("batch of ", size, " bytes, the maximum is ", max_batch_bytes));
  }
  *header = DecodeBatchHeader(bytes.data());
  if (header->magic != kMagicV2) {
    return Failure(BatchRule::kBadMagic, base_position + kMagicPos,
                   absl::StrCat("magic ", int{header->magic}, ", expected ", int{kMagicV2}));
  }
  if (verify_crc) {
    const uint32_t computed = ComputeBatchCrc(bytes.substr(0, static_cast<size_t>(size)));
    if (computed != header->crc) {
      return Failure(BatchRule::kCrcMismatch, base_position + kCrcPos,
                     absl::StrCat("stored crc 0x", absl::Hex(header->crc, absl::kZeroPad8),
                                  ", computed 0x", absl::Hex(computed, absl::kZeroPad8)));
    }
  }
  return BatchCheck();
}

BatchCheck DecodeHeaders(absl::string_view data, int32_t count, int64_t base_position,
                         std::vector<HeaderRef>* out, size_t* consumed) {
  Cursor c(data, base_position);
  BatchCheck check;
  if (ReadHeaders(&c, count, out, &check)) *consumed = data.size() - c.left();
  return check;
}

RecordDecoder::RecordDecoder(absl::string_view records, int64_t base_position, int32_t count)
    : records_(records), base_position_(base_position), count_(count) {
  if (count < 0) {
    Fail(BatchRule::kBadRecordCount, base_position, absl::StrCat("RecordsCount ", count));
  }
}

bool RecordDecoder::Fail(BatchRule rule, int64_t position, std::string detail) {
  check_ = Failure(rule, position, std::move(detail));
  done_ = true;
  return false;
}

bool RecordDecoder::Next(EncodedRecord* out) {
  if (done_) return false;
  const int64_t start = base_position_ + static_cast<int64_t>(pos_);
  if (index_ == count_) {
    done_ = true;
    if (pos_ == records_.size()) return false;
    return Fail(
        BatchRule::kTrailingRecordBytes, start,
        absl::StrCat(records_.size() - pos_, " bytes after the last of ", count_, " records"));
  }
  if (pos_ == records_.size()) {
    return Fail(BatchRule::kRecordCountMismatch, start,
                absl::StrCat("the records end after ", index_, " of ", count_));
  }

  Cursor c(records_.substr(pos_), start);
  int32_t length = 0;
  bool ok = ReadVar(&c, "Length", &length, &check_);
  if (ok && (length < 0 || static_cast<size_t>(length) > c.left())) {
    check_ = Failure(BatchRule::kBadRecordLength, start,
                     absl::StrCat("Length ", length, ", ", c.left(), " bytes left in the batch"));
    ok = false;
  }
  if (ok) {
    Cursor body = c.Sub(static_cast<size_t>(length));
    ok = ReadRecordBody(&body, start, length, out, &check_);
  }
  if (!ok) {
    check_.detail = absl::StrCat("record ", index_, ": ", check_.detail);
    done_ = true;
    return false;
  }
  out->position = start;
  pos_ += static_cast<size_t>(c.position() - start);
  ++index_;
  return true;
}

BatchCheck ValidateBatch(absl::string_view bytes, const ValidationOptions& options,
                         BatchHeader* header_out) {
  BatchHeader local;
  BatchHeader& h = header_out != nullptr ? *header_out : local;
  const int64_t base = options.base_position;
  BatchCheck check =
      CheckBatchFrame(bytes, base, options.max_message_bytes, /*verify_crc=*/true, &h);
  if (!check.ok()) return check;
  if (h.compression() > Compression::kZstd) {
    return Failure(BatchRule::kUnknownCompression, base + kAttributesPos,
                   absl::StrCat("compression id ", h.attributes & kCompressionMask));
  }
  const bool client = options.from_client;
  if (client && h.base_offset != 0) {
    return Failure(BatchRule::kNonZeroBaseOffset, base + kBaseOffsetPos,
                   absl::StrCat("BaseOffset ", h.base_offset, ", a producer must send 0"));
  }
  const int64_t size = h.size_bytes();
  if (size < static_cast<int64_t>(bytes.size())) {
    return Failure(BatchRule::kMultipleBatches, base + size,
                   absl::StrCat(static_cast<int64_t>(bytes.size()) - size, " bytes after the ",
                                size, "-byte batch"));
  }
  // A compacted batch keeps its LastOffsetDelta but may hold fewer records, or none.
  const int64_t offsets = int64_t{h.last_offset_delta} + 1;
  const bool counts_ok =
      client ? h.records_count > 0 && h.records_count == offsets
             : h.records_count >= 0 && h.last_offset_delta >= 0 && h.records_count <= offsets;
  if (!counts_ok) {
    return Failure(
        BatchRule::kBadRecordCount, base + kRecordsCountPos,
        absl::StrCat("RecordsCount ", h.records_count, ", LastOffsetDelta ", h.last_offset_delta));
  }
  if (client && h.is_control()) {
    return Failure(BatchRule::kControlBatchFromClient, base + kAttributesPos,
                   absl::StrCat("attributes 0x", absl::Hex(h.attributes, absl::kZeroPad4),
                                " have the control bit"));
  }
  if (client && h.producer_id >= 0 && h.base_sequence < 0) {
    return Failure(
        BatchRule::kMissingSequence, base + kBaseSequencePos,
        absl::StrCat("ProducerId ", h.producer_id, " with BaseSequence ", h.base_sequence));
  }
  if (client && h.timestamp_type() == TimestampType::kLogAppendTime) {
    return Failure(BatchRule::kLogAppendTimeFromClient, base + kAttributesPos,
                   absl::StrCat("attributes 0x", absl::Hex(h.attributes, absl::kZeroPad4),
                                " have the LogAppendTime bit"));
  }
  if (!options.check_records || h.compression() != Compression::kNone) return BatchCheck();

  RecordDecoder decoder(
      bytes.substr(kBatchHeaderSize, static_cast<size_t>(size) - kBatchHeaderSize),
      base + kBatchHeaderSize, h.records_count);
  EncodedRecord record;
  int64_t previous_delta = -1;
  while (decoder.Next(&record)) {
    const int32_t index = decoder.index() - 1;
    const bool delta_ok =
        client ? record.offset_delta == index
               : record.offset_delta > previous_delta && record.offset_delta <= h.last_offset_delta;
    if (!delta_ok) {
      return Failure(
          BatchRule::kBadOffsetDelta, record.position,
          absl::StrCat("record ", index, ": OffsetDelta ", record.offset_delta,
                       client ? absl::StrCat(", expected ", index)
                              : absl::StrCat(" after ", previous_delta, ", LastOffsetDelta ",
                                             h.last_offset_delta)));
    }
    previous_delta = record.offset_delta;
  }
  return decoder.check();
}

}  // namespace varve
