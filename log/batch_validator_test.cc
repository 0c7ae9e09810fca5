#include "log/batch_validator.h"

#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"

namespace varve {
namespace {

// Every check runs with a non-zero base position, so each test also proves the position is
// absolute.
constexpr int64_t kBase = 4096;

// Five records of 20 bytes each: Length 19 (0x26), attributes, tsΔ 0, offΔ i, KeyLength 3,
// "key", ValueLength 10, "0123456789", HeadersCount 0.
constexpr int kRecords = 5;
constexpr int kRecordSize = 20;
constexpr int kLengthAt = 0, kOffsetDeltaAt = 3, kKeyLengthAt = 4, kValueLengthAt = 8,
              kHeaderCountAt = 19;

std::string FiveRecords(const BatchBuilder::Options& options = {}) {
  BatchBuilder builder(options);
  for (int i = 0; i < kRecords; ++i) builder.Add(1000, "key", "0123456789");
  return builder.Build();
}

// Offset of record i in a FiveRecords() batch.
int Record(int i) { return kBatchHeaderSize + kRecordSize * i; }

// Corruptions below the CRC would be caught as crc_mismatch; recomputing the CRC lets the rule
// under test fire instead.
void FixCrc(std::string* batch) { StoreBE32(batch->data() + kCrcPos, ComputeBatchCrc(*batch)); }

void FixLength(std::string* batch) {
  StoreBE32(batch->data() + kBatchLengthPos, static_cast<uint32_t>(batch->size() - kLogOverhead));
  FixCrc(batch);
}

void SetCounts(std::string* batch, int32_t records_count, int32_t last_offset_delta) {
  StoreBE32(batch->data() + kRecordsCountPos, static_cast<uint32_t>(records_count));
  StoreBE32(batch->data() + kLastOffsetDeltaPos, static_cast<uint32_t>(last_offset_delta));
  FixCrc(batch);
}

void SetAttributes(std::string* batch, int16_t attributes) {
  StoreBE16(batch->data() + kAttributesPos, static_cast<uint16_t>(attributes));
  FixCrc(batch);
}

BatchCheck Validate(absl::string_view batch, bool from_client = true) {
  ValidationOptions options;
  options.base_position = kBase;
  options.from_client = from_client;
  return ValidateBatch(batch, options);
}

#define EXPECT_RULE(check, expected_rule, expected_position)                      \
  do {                                                                            \
    const BatchCheck c_ = (check);                                                \
    EXPECT_EQ(BatchRuleName(c_.rule), BatchRuleName(expected_rule)) << c_.detail; \
    EXPECT_EQ(c_.position, (expected_position)) << c_.detail;                     \
  } while (false)

TEST(BatchValidatorTest, ValidBatchPasses) {
  const std::string batch = FiveRecords();
  BatchHeader header;
  ValidationOptions options;
  const BatchCheck check = ValidateBatch(batch, options, &header);
  EXPECT_TRUE(check.ok()) << check.ToStatus();
  EXPECT_TRUE(check.ToStatus().ok());
  EXPECT_EQ(header.records_count, kRecords);
  EXPECT_EQ(batch.size(), static_cast<size_t>(Record(kRecords)));
}

TEST(BatchValidatorTest, EmptyBufferIsATruncatedHeader) {
  EXPECT_RULE(Validate(""), BatchRule::kTruncatedHeader, kBase);
}

TEST(BatchValidatorTest, TruncatedHeader) {
  EXPECT_RULE(Validate(FiveRecords().substr(0, kLogOverhead - 1)), BatchRule::kTruncatedHeader,
              kBase);
}

TEST(BatchValidatorTest, BatchLengthBelowMinimal) {
  std::string batch = FiveRecords();
  StoreBE32(batch.data() + kBatchLengthPos, kBatchHeaderSize - kLogOverhead - 1);
  EXPECT_RULE(Validate(batch), BatchRule::kLengthTooSmall, kBase + kBatchLengthPos);
}

TEST(BatchValidatorTest, NegativeBatchLength) {
  std::string batch = FiveRecords();
  StoreBE32(batch.data() + kBatchLengthPos, 0x80000000u);
  EXPECT_RULE(Validate(batch), BatchRule::kLengthTooSmall, kBase + kBatchLengthPos);
}

TEST(BatchValidatorTest, ZeroFilledBytesAreNotABatch) {
  EXPECT_RULE(Validate(std::string(100, '\0')), BatchRule::kLengthTooSmall,
              kBase + kBatchLengthPos);
}

TEST(BatchValidatorTest, TruncatedBufferIsLengthBeyondBuffer) {
  const std::string batch = FiveRecords();
  EXPECT_RULE(Validate(absl::string_view(batch).substr(0, batch.size() - 1)),
              BatchRule::kLengthBeyondBuffer, kBase + kBatchLengthPos);
  EXPECT_RULE(Validate(absl::string_view(batch).substr(0, kBatchHeaderSize)),
              BatchRule::kLengthBeyondBuffer, kBase + kBatchLengthPos);
}

TEST(BatchValidatorTest, LargerThanMaxMessageBytes) {
  const std::string batch = FiveRecords();
  ValidationOptions options;
  options.base_position = kBase;
  options.max_message_bytes = static_cast<int64_t>(batch.size());
  EXPECT_TRUE(ValidateBatch(batch, options).ok());
  options.max_message_bytes = static_cast<int64_t>(batch.size()) - 1;
  const BatchCheck check = ValidateBatch(batch, options);
  EXPECT_RULE(check, BatchRule::kTooLarge, kBase + kBatchLengthPos);
  EXPECT_EQ(check.ToStatus().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BatchValidatorTest, MagicOne) {
  std::string batch = FiveRecords();
  batch[kMagicPos] = 1;
  EXPECT_RULE(Validate(batch), BatchRule::kBadMagic, kBase + kMagicPos);
}

TEST(BatchValidatorTest, FlippedByteInRecordThreeIsACrcMismatch) {
  std::string batch = FiveRecords();
  batch[Record(3) + 12] ^= 0x01;
  const BatchCheck check = Validate(batch);
  EXPECT_RULE(check, BatchRule::kCrcMismatch, kBase + kCrcPos);
  const absl::Status status = check.ToStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  const std::string stored =
      absl::StrCat("0x", absl::Hex(DecodeBatchHeader(batch.data()).crc, absl::kZeroPad8));
  EXPECT_EQ(status.message(),
            absl::StrCat("batch at byte 4113: crc_mismatch: stored crc ", stored, ", computed 0x",
                         absl::Hex(ComputeBatchCrc(batch), absl::kZeroPad8)));
}

TEST(BatchValidatorTest, FlippedCrcByte) {
  std::string batch = FiveRecords();
  batch[kCrcPos + 3] ^= 0x80;
  EXPECT_RULE(Validate(batch), BatchRule::kCrcMismatch, kBase + kCrcPos);
}

TEST(BatchValidatorTest, UnknownCompressionId) {
  std::string batch = FiveRecords();
  SetAttributes(&batch, 5);
  EXPECT_RULE(Validate(batch), BatchRule::kUnknownCompression, kBase + kAttributesPos);
}

TEST(BatchValidatorTest, NonZeroBaseOffsetOnlyAllowedWhenNotFromClient) {
  std::string batch = FiveRecords();
  SetBaseOffset(batch.data(), 100);  // outside the CRC: no fix needed
  const BatchCheck check = Validate(batch);
  EXPECT_RULE(check, BatchRule::kNonZeroBaseOffset, kBase + kBaseOffsetPos);
  EXPECT_EQ(check.ToStatus().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Validate(batch, /*from_client=*/false).ok());
}

TEST(BatchValidatorTest, TwoBatchesConcatenated) {
  const std::string batch = FiveRecords();
  const BatchCheck check = Validate(batch + batch);
  EXPECT_RULE(check, BatchRule::kMultipleBatches, kBase + static_cast<int64_t>(batch.size()));
  EXPECT_EQ(check.ToStatus().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_RULE(Validate(batch + batch, /*from_client=*/false), BatchRule::kMultipleBatches,
              kBase + static_cast<int64_t>(batch.size()));
}

TEST(BatchValidatorTest, OneTrailingByteIsMultipleBatches) {
  EXPECT_RULE(Validate(FiveRecords() + "x"), BatchRule::kMultipleBatches, kBase + Record(5));
}

TEST(BatchValidatorTest, RecordsCountNotLastOffsetDeltaPlusOne) {
  std::string batch = FiveRecords();
  SetCounts(&batch, kRecords, kRecords);
  EXPECT_RULE(Validate(batch), BatchRule::kBadRecordCount, kBase + kRecordsCountPos);
}

TEST(BatchValidatorTest, RecordsCountZero) {
  std::string batch = FiveRecords();
  SetCounts(&batch, 0, -1);  // consistent with each other, but a client batch is never empty
  EXPECT_RULE(Validate(batch), BatchRule::kBadRecordCount, kBase + kRecordsCountPos);
}

TEST(BatchValidatorTest, NegativeRecordsCount) {
  std::string batch = FiveRecords();
  SetCounts(&batch, -3, -4);
  EXPECT_RULE(Validate(batch), BatchRule::kBadRecordCount, kBase + kRecordsCountPos);
  EXPECT_RULE(Validate(batch, /*from_client=*/false), BatchRule::kBadRecordCount,
              kBase + kRecordsCountPos);
}

TEST(BatchValidatorTest, ControlBatchFromClient) {
  std::string batch = FiveRecords();
  SetAttributes(&batch, kControlBit);
  const BatchCheck check = Validate(batch);
  EXPECT_RULE(check, BatchRule::kControlBatchFromClient, kBase + kAttributesPos);
  EXPECT_EQ(check.ToStatus().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Validate(batch, /*from_client=*/false).ok());
}

TEST(BatchValidatorTest, LogAppendTimeFromClient) {
  std::string batch = FiveRecords();
  SetAttributes(&batch, kTimestampTypeBit);
  const BatchCheck check = Validate(batch);
  EXPECT_RULE(check, BatchRule::kLogAppendTimeFromClient, kBase + kAttributesPos);
  EXPECT_EQ(check.ToStatus().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Validate(batch, /*from_client=*/false).ok());
}

TEST(BatchValidatorTest, ProducerIdWithoutSequence) {
  BatchBuilder::Options options;
  options.producer_id = 12;
  options.producer_epoch = 0;
  const BatchCheck check = Validate(FiveRecords(options));
  EXPECT_RULE(check, BatchRule::kMissingSequence, kBase + kBaseSequencePos);
  EXPECT_EQ(check.ToStatus().code(), absl::StatusCode::kInvalidArgument);
  options.base_sequence = 0;
  EXPECT_TRUE(Validate(FiveRecords(options)).ok());
}

TEST(BatchValidatorTest, KafkajsSequenceWithoutProducerIdIsFine) {
  BatchBuilder::Options options;
  options.producer_epoch = 0;
  options.base_sequence = 0;  // kafkajs sends 0 with ProducerId -1
  EXPECT_TRUE(Validate(FiveRecords(options)).ok());
}

TEST(BatchValidatorTest, CountsAreCheckedBeforeClientFlags) {
  std::string batch = FiveRecords();
  SetAttributes(&batch, kControlBit | kTimestampTypeBit);
  SetCounts(&batch, 0, 4);
  EXPECT_RULE(Validate(batch), BatchRule::kBadRecordCount, kBase + kRecordsCountPos);
}

TEST(BatchValidatorTest, RecordLengthLongerThanItsFields) {
  std::string batch = FiveRecords();
  batch[Record(2) + kLengthAt] = 0x28;  // Length 20: one byte of record 3 is left unparsed
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kRecordLengthMismatch, kBase + Record(2));
}

TEST(BatchValidatorTest, RecordLengthShorterThanItsFields) {
  std::string batch = FiveRecords();
  batch[Record(2) + kLengthAt] = 0x24;  // Length 18: HeadersCount falls outside the record
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadVarint, kBase + Record(2) + kHeaderCountAt);
}

TEST(BatchValidatorTest, RecordLengthZero) {
  std::string batch = FiveRecords();
  batch[Record(4) + kLengthAt] = 0x00;
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kRecordLengthMismatch, kBase + Record(4));
}

TEST(BatchValidatorTest, NegativeRecordLength) {
  std::string batch = FiveRecords();
  batch[Record(1) + kLengthAt] = 0x01;  // -1
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadRecordLength, kBase + Record(1));
}

TEST(BatchValidatorTest, LastRecordLengthBeyondTheBatch) {
  std::string batch = FiveRecords();
  batch[Record(4) + kLengthAt] = 0x28;  // 20 bytes, only 19 left
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadRecordLength, kBase + Record(4));
}

TEST(BatchValidatorTest, OffsetDeltaOutOfOrder) {
  std::string batch = FiveRecords();
  batch[Record(3) + kOffsetDeltaAt] = 0x08;  // 4 instead of 3
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadOffsetDelta, kBase + Record(3));
  // Not from a client, a gap is fine (compaction), but record 4 then repeats delta 4.
  EXPECT_RULE(Validate(batch, /*from_client=*/false), BatchRule::kBadOffsetDelta,
              kBase + Record(4));
}

TEST(BatchValidatorTest, OffsetDeltaRepeatedFromReplica) {
  std::string batch = FiveRecords();
  batch[Record(3) + kOffsetDeltaAt] = 0x04;  // 2 again
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch, /*from_client=*/false), BatchRule::kBadOffsetDelta,
              kBase + Record(3));
}

TEST(BatchValidatorTest, OffsetDeltaBeyondLastOffsetDeltaFromReplica) {
  std::string batch = FiveRecords();
  batch[Record(4) + kOffsetDeltaAt] = 0x0a;  // 5 > LastOffsetDelta 4
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch, /*from_client=*/false), BatchRule::kBadOffsetDelta,
              kBase + Record(4));
}

TEST(BatchValidatorTest, CompactedBatchAcceptedOnlyWhenNotFromClient) {
  // Records 0, 2 and 4 survive compaction; LastOffsetDelta stays 4.
  const std::string full = FiveRecords();
  std::string batch = full.substr(0, kBatchHeaderSize);
  for (int i : {0, 2, 4}) batch += full.substr(Record(i), kRecordSize);
  StoreBE32(batch.data() + kRecordsCountPos, 3);
  FixLength(&batch);
  EXPECT_TRUE(Validate(batch, /*from_client=*/false).ok());
  EXPECT_RULE(Validate(batch), BatchRule::kBadRecordCount, kBase + kRecordsCountPos);
}

TEST(BatchValidatorTest, EmptyCompactedBatchFromReplica) {
  std::string batch = FiveRecords().substr(0, kBatchHeaderSize);
  StoreBE32(batch.data() + kRecordsCountPos, 0);
  FixLength(&batch);
  EXPECT_TRUE(Validate(batch, /*from_client=*/false).ok());
}

TEST(BatchValidatorTest, NegativeHeaderCount) {
  std::string batch = FiveRecords();
  batch[Record(1) + kHeaderCountAt] = 0x01;  // -1
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadHeaderCount, kBase + Record(1) + kHeaderCountAt);
}

TEST(BatchValidatorTest, HeaderCountLargerThanBytesLeft) {
  std::string batch = FiveRecords();
  batch[Record(1) + kHeaderCountAt] = 0x02;  // 1 header, 0 bytes left
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadHeaderCount, kBase + Record(1) + kHeaderCountAt);
}

// One record with one header: Length, attributes, tsΔ, offΔ, KeyLength -1, ValueLength 1, "v",
// HeadersCount 1, header KeyLength 1 (byte 8), "h", header ValueLength 1 (byte 10), "w".
constexpr int kHeaderKeyLengthAt = kBatchHeaderSize + 8;
constexpr int kHeaderValueLengthAt = kBatchHeaderSize + 10;

std::string OneRecordWithHeader() {
  BatchBuilder builder;
  const HeaderRef header{"h", "w"};
  builder.Add(1, std::nullopt, "v", {&header, 1});
  return builder.Build();
}

TEST(BatchValidatorTest, RecordWithHeaderPasses) {
  const std::string batch = OneRecordWithHeader();
  EXPECT_EQ(batch[kHeaderKeyLengthAt], 0x02);
  EXPECT_EQ(batch[kHeaderValueLengthAt], 0x02);
  EXPECT_TRUE(Validate(batch).ok());
}

TEST(BatchValidatorTest, NegativeHeaderKeyLength) {
  std::string batch = OneRecordWithHeader();
  batch[kHeaderKeyLengthAt] = 0x01;  // -1: a header key cannot be null
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadHeaderKeyLength, kBase + kHeaderKeyLengthAt);
}

TEST(BatchValidatorTest, HeaderKeyPastTheRecord) {
  std::string batch = OneRecordWithHeader();
  batch[kHeaderKeyLengthAt] = 0x08;  // 4 bytes, 3 left
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadHeaderKeyLength, kBase + kHeaderKeyLengthAt);
}

TEST(BatchValidatorTest, HeaderValueLengthBelowMinusOne) {
  std::string batch = OneRecordWithHeader();
  batch[kHeaderValueLengthAt] = 0x03;  // -2
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadHeaderValueLength, kBase + kHeaderValueLengthAt);
}

TEST(BatchValidatorTest, KeyLengthBelowMinusOne) {
  std::string batch = FiveRecords();
  batch[Record(2) + kKeyLengthAt] = 0x03;  // -2
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadKeyLength, kBase + Record(2) + kKeyLengthAt);
}

TEST(BatchValidatorTest, KeyPastTheRecord) {
  std::string batch = FiveRecords();
  batch[Record(2) + kKeyLengthAt] = 0x7e;  // 63 bytes
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadKeyLength, kBase + Record(2) + kKeyLengthAt);
}

TEST(BatchValidatorTest, ValuePastTheRecord) {
  std::string batch = FiveRecords();
  // 11 bytes: the value fits, swallowing HeadersCount, which would start at the record's end.
  batch[Record(0) + kValueLengthAt] = 0x16;
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadVarint, kBase + Record(1));
  batch[Record(0) + kValueLengthAt] = 0x18;  // 12 bytes, 11 left
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadValueLength, kBase + Record(0) + kValueLengthAt);
}

TEST(BatchValidatorTest, TruncatedVarintAtTheEndOfARecord) {
  std::string batch = FiveRecords();
  batch[Record(4) + kHeaderCountAt] = static_cast<char>(0x80);  // "more bytes follow"
  FixCrc(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadVarint, kBase + Record(4) + kHeaderCountAt);
}

TEST(BatchValidatorTest, TruncatedRecordLengthVarint) {
  std::string batch = FiveRecords() + "\x80";
  SetCounts(&batch, kRecords + 1, kRecords);
  FixLength(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadVarint, kBase + Record(5));
}

TEST(BatchValidatorTest, OverlongRecordLengthVarint) {
  std::string batch = FiveRecords() + std::string(5, '\x80') + '\x00' + std::string(10, 'x');
  SetCounts(&batch, kRecords + 1, kRecords);
  FixLength(&batch);
  EXPECT_RULE(Validate(batch), BatchRule::kBadVarint, kBase + Record(5));
}

TEST(BatchValidatorTest, FewerRecordsThanRecordsCount) {
  std::string batch = FiveRecords();
  SetCounts(&batch, kRecords + 1, kRecords);
  EXPECT_RULE(Validate(batch), BatchRule::kRecordCountMismatch, kBase + Record(5));
}

TEST(BatchValidatorTest, BytesAfterTheLastRecord) {
  std::string batch = FiveRecords();
  SetCounts(&batch, kRecords - 1, kRecords - 2);
  EXPECT_RULE(Validate(batch), BatchRule::kTrailingRecordBytes, kBase + Record(4));
}

TEST(BatchValidatorTest, CompressedPayloadIsOpaque) {
  std::string batch = FiveRecords().substr(0, kBatchHeaderSize) + "not really zstd \xff\x01";
  StoreBE16(batch.data() + kAttributesPos, static_cast<uint16_t>(Compression::kZstd));
  FixLength(&batch);
  ValidationOptions options;
  options.check_records = true;
  EXPECT_TRUE(ValidateBatch(batch, options).ok());
  batch.back() ^= 1;
  EXPECT_RULE(Validate(batch), BatchRule::kCrcMismatch, kBase + kCrcPos);
}

TEST(BatchValidatorTest, CheckRecordsFalseSkipsRecords) {
  std::string batch = FiveRecords();
  batch[Record(2) + kKeyLengthAt] = 0x03;
  FixCrc(&batch);
  ValidationOptions options;
  options.check_records = false;
  EXPECT_TRUE(ValidateBatch(batch, options).ok());
}

TEST(BatchValidatorTest, HeaderOutIsFilledEvenWhenALaterRuleFails) {
  std::string batch = FiveRecords();
  SetBaseOffset(batch.data(), 77);
  BatchHeader header{};
  EXPECT_FALSE(ValidateBatch(batch, ValidationOptions(), &header).ok());
  EXPECT_EQ(header.base_offset, 77);
}

TEST(BatchValidatorTest, RuleNamesAreDistinctSnakeCase) {
  std::set<std::string> names;
  for (int r = 0; r <= static_cast<int>(BatchRule::kTrailingRecordBytes); ++r) {
    const std::string name = BatchRuleName(static_cast<BatchRule>(r));
    EXPECT_NE(name, "unknown");
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_STREQ(BatchRuleName(BatchRule::kCrcMismatch), "crc_mismatch");
}

TEST(BatchValidatorTest, RecordRulesAreDataLoss) {
  std::string batch = FiveRecords();
  batch[Record(1) + kHeaderCountAt] = 0x01;
  FixCrc(&batch);
  const absl::Status status = Validate(batch).ToStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(),
            "batch at byte 4196: bad_header_count: record 1: HeadersCount -1, 0 bytes left in "
            "the record");
}

}  // namespace
}  // namespace varve
