#include "log/batch_builder.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <utility>

#include "base/endian.h"
#include "log/varint.h"

namespace varve {
namespace {

int32_t LengthOf(std::optional<absl::string_view> bytes) {
  if (!bytes.has_value()) return -1;
  assert(bytes->size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  return static_cast<int32_t>(bytes->size());
}

// Bytes a length-prefixed field takes: the varint plus the bytes, if any.
size_t FieldSize(std::optional<absl::string_view> bytes) {
  return VarintSize(LengthOf(bytes)) + (bytes.has_value() ? bytes->size() : 0);
}

char* PutField(char* dst, std::optional<absl::string_view> bytes) {
  dst = PutVarint(dst, LengthOf(bytes));
  if (bytes.has_value() && !bytes->empty()) {
    std::memcpy(dst, bytes->data(), bytes->size());
    dst += bytes->size();
  }
  return dst;
}

}  // namespace

BatchBuilder::BatchBuilder() : BatchBuilder(Options()) {}

BatchBuilder::BatchBuilder(const Options& options) : options_(options) { StartBatch(); }

void BatchBuilder::StartBatch() {
  // Whatever the buffer holds beyond the header is stale and gets overwritten.
  if (buffer_.size() < kBatchHeaderSize) buffer_.resize(kBatchHeaderSize);
  std::memset(buffer_.data(), 0, kBatchHeaderSize);
  used_ = kBatchHeaderSize;
  record_count_ = 0;
  base_timestamp_ = kNoTimestamp;
  max_timestamp_ = kNoTimestamp;
}

void BatchBuilder::Reset(const Options& options) {
  options_ = options;
  StartBatch();
}

void BatchBuilder::Add(int64_t timestamp, std::optional<absl::string_view> key,
                       std::optional<absl::string_view> value,
                       absl::Span<const HeaderRef> headers) {
  assert(record_count_ < std::numeric_limits<int32_t>::max());
  if (record_count_ == 0) {
    base_timestamp_ = timestamp;
    max_timestamp_ = timestamp;
  }
  max_timestamp_ = std::max(max_timestamp_, timestamp);
  const int64_t timestamp_delta = WrappingSub(timestamp, base_timestamp_);
  const int32_t offset_delta = record_count_;
  assert(headers.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  const int32_t header_count = static_cast<int32_t>(headers.size());

  // Size the record first so its Length prefix can be written before the fields.
  size_t body = 1 + VarlongSize(timestamp_delta) + VarintSize(offset_delta) + FieldSize(key) +
                FieldSize(value) + VarintSize(header_count);
  for (const HeaderRef& h : headers) body += FieldSize(h.key) + FieldSize(h.value);
  assert(body <= static_cast<size_t>(std::numeric_limits<int32_t>::max()));
  const int32_t length = static_cast<int32_t>(body);

  const size_t start = used_;
  used_ = start + VarintSize(length) + body;
  // The buffer is sized ahead and reused across batches, so in the steady state no byte is
  // zero-filled by resize only to be overwritten here.
  if (buffer_.size() < used_) buffer_.resize(std::max(used_, 2 * buffer_.size()));
  char* p = buffer_.data() + start;
  p = PutVarint(p, length);
  *p++ = 0;  // record attributes: unused
  p = PutVarlong(p, timestamp_delta);
  p = PutVarint(p, offset_delta);
  p = PutField(p, key);
  p = PutField(p, value);
  p = PutVarint(p, header_count);
  for (const HeaderRef& h : headers) {
    p = PutField(p, h.key);
    p = PutField(p, h.value);
  }
  assert(p == buffer_.data() + used_);
  ++record_count_;
}

std::string BatchBuilder::Build() {
  std::string out;
  BuildInto(&out);
  // The swap left the builder an empty string: size it for a batch like this one, so the
  // next batch does not regrow record by record.
  buffer_.reserve(out.size());
  return out;
}

void BatchBuilder::BuildInto(std::string* out) {
  assert(record_count_ > 0);
  buffer_.resize(used_);  // shrinking: nothing is filled
  char* h = buffer_.data();
  SetBaseOffset(h, options_.base_offset);
  StoreBE32(h + kBatchLengthPos, static_cast<uint32_t>(buffer_.size() - kLogOverhead));
  SetPartitionLeaderEpoch(h, options_.partition_leader_epoch);
  h[kMagicPos] = kMagicV2;
  int16_t attributes = static_cast<int16_t>(Compression::kNone);
  if (options_.timestamp_type == TimestampType::kLogAppendTime) attributes |= kTimestampTypeBit;
  if (options_.transactional) attributes |= kTransactionalBit;
  StoreBE16(h + kAttributesPos, static_cast<uint16_t>(attributes));
  StoreBE32(h + kLastOffsetDeltaPos, static_cast<uint32_t>(record_count_ - 1));
  StoreBE64(h + kBaseTimestampPos, static_cast<uint64_t>(base_timestamp_));
  StoreBE64(h + kMaxTimestampPos, static_cast<uint64_t>(max_timestamp_));
  StoreBE64(h + kProducerIdPos, static_cast<uint64_t>(options_.producer_id));
  StoreBE16(h + kProducerEpochPos, static_cast<uint16_t>(options_.producer_epoch));
  StoreBE32(h + kBaseSequencePos, static_cast<uint32_t>(options_.base_sequence));
  StoreBE32(h + kRecordsCountPos, static_cast<uint32_t>(record_count_));
  StoreBE32(h + kCrcPos, ComputeBatchCrc(buffer_));  // last: covers everything from byte 21
  out->swap(buffer_);
  StartBatch();
}

}  // namespace varve
