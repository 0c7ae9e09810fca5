#include "log/record_batch.h"

#include <cstdint>
#include <limits>
#include <string>

#include "base/endian.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"
#include "log/batch_reader.h"
#include "log/batch_validator.h"

namespace varve {
namespace {

// Reference §1.2's worked example: one record, null key, value "hi", no headers, built with
// the builder's defaults (BaseOffset 0, PartitionLeaderEpoch -1 as the Java client writes,
// ProducerId/Epoch/BaseSequence -1) and timestamp 1700000000000 (0x0000018bcfe56800).
// The CRC was computed independently (bitwise CRC-32C in Python over bytes 21..69).
constexpr int64_t kExampleTimestamp = 1700000000000;
constexpr unsigned char kWorkedExample[70] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,        //  0 BaseOffset 0
    0x00, 0x00, 0x00, 0x3a,                                //  8 BatchLength 58
    0xff, 0xff, 0xff, 0xff,                                // 12 PartitionLeaderEpoch -1
    0x02,                                                  // 16 Magic 2
    0xbb, 0xcc, 0x41, 0x15,                                // 17 CRC 0xbbcc4115
    0x00, 0x00,                                            // 21 Attributes
    0x00, 0x00, 0x00, 0x00,                                // 23 LastOffsetDelta 0
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,        // 27 BaseTimestamp
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,        // 35 MaxTimestamp
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,        // 43 ProducerId -1
    0xff, 0xff,                                            // 51 ProducerEpoch -1
    0xff, 0xff, 0xff, 0xff,                                // 53 BaseSequence -1
    0x00, 0x00, 0x00, 0x01,                                // 57 RecordsCount 1
    0x10, 0x00, 0x00, 0x00, 0x01, 0x04, 0x68, 0x69, 0x00,  // 61 the record
};

std::string WorkedExample() {
  return std::string(reinterpret_cast<const char*>(kWorkedExample), sizeof kWorkedExample);
}

TEST(RecordBatchTest, WorkedExampleByteForByte) {
  BatchBuilder builder;
  builder.Add(kExampleTimestamp, std::nullopt, "hi");
  EXPECT_EQ(builder.size_bytes(), 70u);
  EXPECT_EQ(builder.Build(), WorkedExample());
}

TEST(RecordBatchTest, WorkedExampleDecodes) {
  const std::string batch = WorkedExample();
  const BatchHeader h = DecodeBatchHeader(batch.data());
  EXPECT_EQ(h.base_offset, 0);
  EXPECT_EQ(h.batch_length, 58);
  EXPECT_EQ(h.partition_leader_epoch, -1);
  EXPECT_EQ(h.magic, kMagicV2);
  EXPECT_EQ(h.crc, 0xbbcc4115u);
  EXPECT_EQ(h.attributes, 0);
  EXPECT_EQ(h.last_offset_delta, 0);
  EXPECT_EQ(h.base_timestamp, kExampleTimestamp);
  EXPECT_EQ(h.max_timestamp, kExampleTimestamp);
  EXPECT_EQ(h.producer_id, -1);
  EXPECT_EQ(h.producer_epoch, -1);
  EXPECT_EQ(h.base_sequence, -1);
  EXPECT_EQ(h.records_count, 1);
  EXPECT_EQ(h.last_offset(), 0);
  EXPECT_EQ(h.size_bytes(), 70);
  EXPECT_EQ(h.compression(), Compression::kNone);
  EXPECT_EQ(h.timestamp_type(), TimestampType::kCreateTime);
  EXPECT_EQ(ComputeBatchCrc(batch), 0xbbcc4115u);
}

TEST(RecordBatchTest, WorkedExampleValidatesAndIteratesBack) {
  const std::string batch = WorkedExample();
  BatchHeader header;
  const BatchCheck check = ValidateBatch(batch, ValidationOptions(), &header);
  EXPECT_TRUE(check.ok()) << check.ToStatus();
  EXPECT_EQ(header.records_count, 1);

  BatchIterator batches(batch);
  BatchView view;
  ASSERT_TRUE(batches.Next(&view));
  EXPECT_EQ(view.bytes, batch);
  EXPECT_FALSE(batches.Next(&view));
  EXPECT_TRUE(batches.status().ok());

  RecordIterator records(batch);
  RecordView record;
  ASSERT_TRUE(records.Next(&record));
  EXPECT_EQ(record.offset, 0);
  EXPECT_EQ(record.timestamp, kExampleTimestamp);
  EXPECT_FALSE(record.key.has_value());
  EXPECT_EQ(record.value, "hi");
  EXPECT_EQ(record.header_count, 0);
  EXPECT_FALSE(records.Next(&record));
  EXPECT_TRUE(records.status().ok());
}

TEST(RecordBatchTest, StampingOffsetAndEpochKeepsTheCrc) {
  std::string batch = WorkedExample();
  SetBaseOffset(batch.data(), 123456789012);
  SetPartitionLeaderEpoch(batch.data(), 7);
  const BatchHeader h = DecodeBatchHeader(batch.data());
  EXPECT_EQ(h.base_offset, 123456789012);
  EXPECT_EQ(h.partition_leader_epoch, 7);
  EXPECT_EQ(h.last_offset(), 123456789012);
  EXPECT_EQ(ComputeBatchCrc(batch), h.crc);
  EXPECT_EQ(batch.substr(kCrcPos), WorkedExample().substr(kCrcPos));
}

TEST(RecordBatchTest, AttributeBits) {
  BatchHeader h = DecodeBatchHeader(WorkedExample().data());
  h.attributes = 0x04 | kTimestampTypeBit | kTransactionalBit | kControlBit | kDeleteHorizonBit;
  EXPECT_EQ(h.compression(), Compression::kZstd);
  EXPECT_EQ(h.timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_TRUE(h.is_transactional());
  EXPECT_TRUE(h.is_control());
  EXPECT_TRUE(h.has_delete_horizon());
  h.attributes = 0x02;
  EXPECT_EQ(h.compression(), Compression::kSnappy);
  EXPECT_EQ(h.timestamp_type(), TimestampType::kCreateTime);
  EXPECT_FALSE(h.is_transactional());
  EXPECT_FALSE(h.is_control());
  EXPECT_FALSE(h.has_delete_horizon());
}

TEST(RecordBatchTest, CompressionNames) {
  EXPECT_STREQ(CompressionName(Compression::kNone), "none");
  EXPECT_STREQ(CompressionName(Compression::kGzip), "gzip");
  EXPECT_STREQ(CompressionName(Compression::kSnappy), "snappy");
  EXPECT_STREQ(CompressionName(Compression::kLz4), "lz4");
  EXPECT_STREQ(CompressionName(Compression::kZstd), "zstd");
  EXPECT_STREQ(CompressionName(static_cast<Compression>(6)), "unknown");
}

TEST(RecordBatchTest, LastOffsetOfGarbageHeaderWrapsInsteadOfOverflowing) {
  BatchHeader h = DecodeBatchHeader(WorkedExample().data());
  h.base_offset = std::numeric_limits<int64_t>::max();
  h.last_offset_delta = 1;
  EXPECT_EQ(h.last_offset(), std::numeric_limits<int64_t>::min());
}

TEST(RecordBatchTest, NegativeBatchLengthGivesSmallSize) {
  std::string batch = WorkedExample();
  StoreBE32(batch.data() + kBatchLengthPos, 0xffffffffu);
  EXPECT_EQ(DecodeBatchHeader(batch.data()).size_bytes(), kLogOverhead - 1);
}

}  // namespace
}  // namespace varve
