#pragma once

// The Kafka RecordBatch v2 (magic 2) format: the unit varve stores in segments and serves to
// consumers (reference §1.1, §1.2). This header holds the layout, the attribute bits and a
// decoded view of the 61-byte header; batch_builder.h writes batches, batch_validator.h holds
// every rule a batch must satisfy, batch_reader.h iterates. Fixed-width integers are
// big-endian.
//
//   off size field                       notes
//     0   8  BaseOffset           i64    offset of the first record; not in the CRC
//     8   4  BatchLength          i32    bytes after this field: the batch is 12 + BatchLength
//    12   4  PartitionLeaderEpoch i32    stamped by the leader; not in the CRC
//    16   1  Magic                i8     2
//    17   4  CRC                  u32    CRC-32C of bytes [21, 12 + BatchLength)
//    21   2  Attributes           i16    bits 0-2 compression, 3 timestamp type,
//                                        4 transactional, 5 control, 6 delete horizon
//    23   4  LastOffsetDelta      i32    last offset - BaseOffset (count - 1 from producers)
//    27   8  BaseTimestamp        i64    first record's timestamp (or the delete horizon)
//    35   8  MaxTimestamp         i64    largest record timestamp, or the broker's append time
//    43   8  ProducerId           i64    -1 = not idempotent
//    51   2  ProducerEpoch        i16
//    53   4  BaseSequence         i32    ignored when ProducerId < 0
//    57   4  RecordsCount         i32    stays uncompressed when the records are compressed
//    61   …  Records                     RecordsCount records, or one compressed stream
//
// Each record, back to back (varint/varlong are zig-zag LEB128, log/varint.h):
//   Length         varint   bytes after this field
//   Attributes     i8       unused, 0
//   TimestampDelta varlong  timestamp - BaseTimestamp
//   OffsetDelta    varint   offset - BaseOffset (0, 1, 2, ... from producers)
//   KeyLength      varint   -1 = null key, then the key bytes
//   ValueLength    varint   -1 = null value (tombstone), then the value bytes
//   HeadersCount   varint   then per header: KeyLength varint (>= 0), key,
//                           ValueLength varint (-1 = null), value
//
// Example:
//   if (bytes.size() >= kBatchHeaderSize) {
//     BatchHeader h = DecodeBatchHeader(bytes.data());
//     int64_t next_offset = h.last_offset() + 1;
//   }
//   SetBaseOffset(batch.data(), log_end_offset);  // the CRC stays valid
//
// DecodeBatchHeader does not validate anything: use ValidateBatch (batch_validator.h) or
// BatchIterator (batch_reader.h) on untrusted bytes. Everything here is stateless and
// thread-safe.

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace varve {

inline constexpr int kBaseOffsetPos = 0, kBatchLengthPos = 8, kPartitionLeaderEpochPos = 12,
                     kMagicPos = 16, kCrcPos = 17, kAttributesPos = 21, kLastOffsetDeltaPos = 23,
                     kBaseTimestampPos = 27, kMaxTimestampPos = 35, kProducerIdPos = 43,
                     kProducerEpochPos = 51, kBaseSequencePos = 53, kRecordsCountPos = 57;
inline constexpr int kBatchHeaderSize = 61;  // RECORD_BATCH_OVERHEAD
inline constexpr int kLogOverhead = 12;      // BaseOffset + BatchLength
inline constexpr int kHeaderPeekSize = 17;   // offset+length+epoch+magic: enough to size and
                                             // identify a batch
inline constexpr int8_t kMagicV2 = 2;
inline constexpr int64_t kNoTimestamp = -1;
inline constexpr int32_t kDefaultMaxMessageBytes = 1048588;  // 1 MiB + kLogOverhead

// Attribute bits (low byte of Attributes).
inline constexpr int16_t kCompressionMask = 0x07;
inline constexpr int16_t kTimestampTypeBit = 0x08;
inline constexpr int16_t kTransactionalBit = 0x10;
inline constexpr int16_t kControlBit = 0x20;
inline constexpr int16_t kDeleteHorizonBit = 0x40;

// Codec ids of attribute bits 0-2. Ids 5-7 are unassigned; a header may still carry them
// (CompressionName says "unknown", the validator rejects them).
enum class Compression : uint8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };
enum class TimestampType : uint8_t { kCreateTime = 0, kLogAppendTime = 1 };

// The 61-byte header, decoded field by field (names and meaning as in the table above).
struct BatchHeader {
  int64_t base_offset;
  int32_t batch_length;
  int32_t partition_leader_epoch;
  int8_t magic;
  uint32_t crc;
  int16_t attributes;
  int32_t last_offset_delta;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int32_t records_count;

  // base_offset + last_offset_delta. Wraps instead of overflowing on garbage headers.
  int64_t last_offset() const;
  // The whole batch: kLogOverhead + batch_length.
  int64_t size_bytes() const { return kLogOverhead + int64_t{batch_length}; }
  Compression compression() const {
    return static_cast<Compression>(attributes & kCompressionMask);
  }
  TimestampType timestamp_type() const {
    return (attributes & kTimestampTypeBit) ? TimestampType::kLogAppendTime
                                            : TimestampType::kCreateTime;
  }
  bool is_transactional() const { return (attributes & kTransactionalBit) != 0; }
  bool is_control() const { return (attributes & kControlBit) != 0; }
  bool has_delete_horizon() const { return (attributes & kDeleteHorizonBit) != 0; }
};

// A record header (reference §1.2): a key and a value that may be null.
struct HeaderRef {
  absl::string_view key;
  std::optional<absl::string_view> value;
};

// Decodes the header at `p`, which must have at least kBatchHeaderSize readable bytes.
// No validation.
BatchHeader DecodeBatchHeader(const char* p);

// Rewrite the two fields the leader stamps. Both lie before byte 21, outside the CRC, so the
// batch's CRC stays valid. `batch` must have at least kBatchHeaderSize writable bytes.
void SetBaseOffset(char* batch, int64_t base_offset);
void SetPartitionLeaderEpoch(char* batch, int32_t epoch);

// CRC-32C of batch[kAttributesPos, batch.size()): `batch` is exactly one whole batch
// (batch.size() >= kAttributesPos).
uint32_t ComputeBatchCrc(absl::string_view batch);

// "none", "gzip", "snappy", "lz4", "zstd", or "unknown" for ids 5-7.
const char* CompressionName(Compression compression);

// a + b (or a - b) in two's complement without signed-overflow UB: record offsets and
// timestamps are base + delta, and both come from untrusted bytes.
inline int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t WrappingSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

}  // namespace varve
