#include "log/batch_reader.h"

#include <cassert>
#include <limits>

#include "absl/strings/str_cat.h"

namespace varve {
namespace {

// Reading applies no size policy: max.message.bytes is for what producers send.
constexpr int64_t kNoSizeLimit = std::numeric_limits<int64_t>::max();

}  // namespace

BatchIterator::BatchIterator(absl::string_view bytes, int64_t base_position, bool verify_crc)
    : bytes_(bytes), base_position_(base_position), verify_crc_(verify_crc) {}

bool BatchIterator::Next(BatchView* out) {
  if (!status_.ok() || pos_ == bytes_.size()) return false;
  const int64_t start = position();
  const BatchCheck check =
      CheckBatchFrame(bytes_.substr(pos_), start, kNoSizeLimit, verify_crc_, &out->header);
  if (!check.ok()) {
    status_ =
        absl::DataLossError(absl::StrCat("batch at byte ", start, ": ", BatchRuleName(check.rule),
                                         " (byte ", check.position, "): ", check.detail));
    return false;
  }
  const size_t size = static_cast<size_t>(out->header.size_bytes());
  out->bytes = bytes_.substr(pos_, size);
  out->position = start;
  pos_ += size;
  return true;
}

std::vector<HeaderRef> RecordView::Headers() const {
  std::vector<HeaderRef> headers;
  headers.reserve(static_cast<size_t>(header_count));
  size_t consumed = 0;
  [[maybe_unused]] const BatchCheck check =
      DecodeHeaders(headers_data, header_count, 0, &headers, &consumed);
  assert(check.ok() && consumed == headers_data.size());
  return headers;
}

RecordIterator::RecordIterator(absl::string_view batch, int64_t base_position)
    : header_(), decoder_(absl::string_view(), base_position, 0) {
  const BatchCheck frame =
      CheckBatchFrame(batch, base_position, kNoSizeLimit, /*verify_crc=*/false, &header_);
  if (!frame.ok()) {
    status_ = frame.ToStatus();
    return;
  }
  const Compression compression = header_.compression();
  if (compression > Compression::kZstd) {
    status_ = absl::DataLossError(absl::StrCat("batch at byte ", base_position,
                                               ": unknown compression id ",
                                               static_cast<int>(compression)));
    return;
  }
  if (compression != Compression::kNone) {
    status_ = absl::UnimplementedError(
        absl::StrCat("batch at byte ", base_position, " is compressed with ",
                     CompressionName(compression), "; decode it first"));
    return;
  }
  const size_t size = static_cast<size_t>(header_.size_bytes());
  decoder_ = RecordDecoder(batch.substr(kBatchHeaderSize, size - kBatchHeaderSize),
                           base_position + kBatchHeaderSize, header_.records_count);
}

RecordIterator::RecordIterator(const BatchHeader& header, absl::string_view records_data)
    : header_(header), decoder_(records_data, 0, header.records_count) {}

bool RecordIterator::Next(RecordView* out) {
  if (!status_.ok()) return false;
  EncodedRecord record;
  if (!decoder_.Next(&record)) {
    status_ = decoder_.check().ToStatus();
    return false;
  }
  out->offset = WrappingAdd(header_.base_offset, record.offset_delta);
  out->timestamp = header_.timestamp_type() == TimestampType::kLogAppendTime
                       ? header_.max_timestamp
                       : WrappingAdd(header_.base_timestamp, record.timestamp_delta);
  out->attributes = record.attributes;
  out->key = record.key;
  out->value = record.value;
  out->header_count = record.header_count;
  out->headers_data = record.headers_data;
  return true;
}

}  // namespace varve
