#include "log/record_batch.h"

#include <cassert>

#include "base/endian.h"
#include "log/crc32c.h"

namespace varve {

int64_t BatchHeader::last_offset() const { return WrappingAdd(base_offset, last_offset_delta); }

BatchHeader DecodeBatchHeader(const char* p) {
  BatchHeader h;
  h.base_offset = static_cast<int64_t>(LoadBE64(p + kBaseOffsetPos));
  h.batch_length = static_cast<int32_t>(LoadBE32(p + kBatchLengthPos));
  h.partition_leader_epoch = static_cast<int32_t>(LoadBE32(p + kPartitionLeaderEpochPos));
  h.magic = static_cast<int8_t>(p[kMagicPos]);
  h.crc = LoadBE32(p + kCrcPos);
  h.attributes = static_cast<int16_t>(LoadBE16(p + kAttributesPos));
  h.last_offset_delta = static_cast<int32_t>(LoadBE32(p + kLastOffsetDeltaPos));
  h.base_timestamp = static_cast<int64_t>(LoadBE64(p + kBaseTimestampPos));
  h.max_timestamp = static_cast<int64_t>(LoadBE64(p + kMaxTimestampPos));
  h.producer_id = static_cast<int64_t>(LoadBE64(p + kProducerIdPos));
  h.producer_epoch = static_cast<int16_t>(LoadBE16(p + kProducerEpochPos));
  h.base_sequence = static_cast<int32_t>(LoadBE32(p + kBaseSequencePos));
  h.records_count = static_cast<int32_t>(LoadBE32(p + kRecordsCountPos));
  return h;
}

void SetBaseOffset(char* batch, int64_t base_offset) {
  StoreBE64(batch + kBaseOffsetPos, static_cast<uint64_t>(base_offset));
}

void SetPartitionLeaderEpoch(char* batch, int32_t epoch) {
  StoreBE32(batch + kPartitionLeaderEpochPos, static_cast<uint32_t>(epoch));
}

uint32_t ComputeBatchCrc(absl::string_view batch) {
  assert(batch.size() >= static_cast<size_t>(kAttributesPos));
  return Crc32c(batch.data() + kAttributesPos, batch.size() - kAttributesPos);
}

const char* CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

}  // namespace varve
