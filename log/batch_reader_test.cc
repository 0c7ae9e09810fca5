#include "log/batch_reader.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/endian.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"

namespace varve {
namespace {

constexpr int64_t kBase = 8192;

// A batch of `count` records with offsets base_offset.., keys "k<offset>", values "v<offset>".
std::string Batch(int64_t base_offset, int count) {
  BatchBuilder::Options options;
  options.base_offset = base_offset;
  BatchBuilder builder(options);
  for (int i = 0; i < count; ++i) {
    builder.Add(100 + i, absl::StrCat("k", base_offset + i), absl::StrCat("v", base_offset + i));
  }
  return builder.Build();
}

void FixCrc(std::string* batch) { StoreBE32(batch->data() + kCrcPos, ComputeBatchCrc(*batch)); }

TEST(BatchIteratorTest, SeveralBatchesBackToBack) {
  const std::vector<std::string> batches = {Batch(0, 3), Batch(3, 1), Batch(4, 10)};
  std::string log;
  for (const std::string& b : batches) log += b;

  BatchIterator it(log, kBase);
  BatchView view;
  int64_t position = kBase;
  for (const std::string& b : batches) {
    ASSERT_TRUE(it.Next(&view)) << it.status();
    EXPECT_EQ(view.bytes, b);
    EXPECT_EQ(view.position, position);
    EXPECT_EQ(view.header.base_offset, DecodeBatchHeader(b.data()).base_offset);
    position += static_cast<int64_t>(b.size());
    EXPECT_EQ(it.position(), position);
  }
  EXPECT_FALSE(it.Next(&view));
  EXPECT_TRUE(it.status().ok());
  EXPECT_FALSE(it.Next(&view));
}

TEST(BatchIteratorTest, EmptyInputIsACleanEnd) {
  BatchIterator it("", kBase);
  BatchView view;
  EXPECT_FALSE(it.Next(&view));
  EXPECT_TRUE(it.status().ok());
  EXPECT_EQ(it.position(), kBase);
}

TEST(BatchIteratorTest, TornLastBatchNamesItsPosition) {
  const std::string first = Batch(0, 2);
  const std::string second = Batch(2, 2);
  const std::string log = first + second.substr(0, second.size() - 5);
  BatchIterator it(log, kBase);
  BatchView view;
  ASSERT_TRUE(it.Next(&view));
  EXPECT_FALSE(it.Next(&view));
  EXPECT_EQ(it.status().code(), absl::StatusCode::kDataLoss);
  const int64_t torn_at = kBase + static_cast<int64_t>(first.size());
  EXPECT_TRUE(absl::StartsWith(it.status().message(),
                               absl::StrCat("batch at byte ", torn_at, ": length_beyond_buffer")))
      << it.status();
  EXPECT_EQ(it.position(), torn_at);
  EXPECT_FALSE(it.Next(&view));  // stays failed
}

TEST(BatchIteratorTest, TornHeader) {
  const std::string first = Batch(0, 2);
  const std::string log = first + Batch(2, 2).substr(0, 7);
  BatchIterator it(log, kBase);
  BatchView view;
  ASSERT_TRUE(it.Next(&view));
  EXPECT_FALSE(it.Next(&view));
  EXPECT_EQ(it.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(
      absl::StrContains(it.status().message(),
                        absl::StrCat("batch at byte ", kBase + first.size(), ": truncated_header")))
      << it.status();
}

TEST(BatchIteratorTest, ZeroFilledTailIsNotAnEnd) {
  const std::string first = Batch(0, 2);
  const std::string log = first + std::string(4096, '\0');
  BatchIterator it(log, kBase);
  BatchView view;
  ASSERT_TRUE(it.Next(&view));
  EXPECT_FALSE(it.Next(&view));
  EXPECT_EQ(it.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(it.status().message(), "length_too_small")) << it.status();
}

TEST(BatchIteratorTest, CrcFlipDetectedWhenVerifying) {
  const std::string first = Batch(0, 2);
  std::string second = Batch(2, 3);
  second[second.size() - 2] ^= 0x20;
  const std::string log = first + second;

  BatchIterator verifying(log, kBase);
  BatchView view;
  ASSERT_TRUE(verifying.Next(&view));
  EXPECT_FALSE(verifying.Next(&view));
  EXPECT_EQ(verifying.status().code(), absl::StatusCode::kDataLoss);
  const int64_t at = kBase + static_cast<int64_t>(first.size());
  EXPECT_TRUE(absl::StartsWith(verifying.status().message(),
                               absl::StrCat("batch at byte ", at, ": crc_mismatch (byte ",
                                            at + kCrcPos, "): stored crc 0x")))
      << verifying.status();

  BatchIterator trusting(log, kBase, /*verify_crc=*/false);
  ASSERT_TRUE(trusting.Next(&view));
  ASSERT_TRUE(trusting.Next(&view));
  EXPECT_FALSE(trusting.Next(&view));
  EXPECT_TRUE(trusting.status().ok());
}

TEST(BatchIteratorTest, BadMagicInTheMiddle) {
  std::string second = Batch(2, 1);
  second[kMagicPos] = 1;
  const std::string log = Batch(0, 2) + second + Batch(3, 1);
  BatchIterator it(log);
  BatchView view;
  ASSERT_TRUE(it.Next(&view));
  EXPECT_FALSE(it.Next(&view));
  EXPECT_TRUE(absl::StrContains(it.status().message(), "bad_magic")) << it.status();
}

TEST(RecordIteratorTest, OffsetsAndTimestamps) {
  const std::string batch = Batch(1000, 4);
  RecordIterator it(batch);
  RecordView record;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(it.Next(&record)) << it.status();
    EXPECT_EQ(record.offset, 1000 + i);
    EXPECT_EQ(record.timestamp, 100 + i);
    EXPECT_EQ(record.attributes, 0);
    EXPECT_EQ(record.key, absl::StrCat("k", 1000 + i));
    EXPECT_EQ(record.value, absl::StrCat("v", 1000 + i));
  }
  EXPECT_FALSE(it.Next(&record));
  EXPECT_TRUE(it.status().ok());
  EXPECT_FALSE(it.Next(&record));
}

TEST(RecordIteratorTest, LogAppendTimeReportsMaxTimestamp) {
  BatchBuilder::Options options;
  options.timestamp_type = TimestampType::kLogAppendTime;
  BatchBuilder builder(options);
  builder.Add(5, "a", "b");
  builder.Add(3, "c", "d");
  std::string batch = builder.Build();
  StoreBE64(batch.data() + kMaxTimestampPos, 99999);  // what the broker stamps
  FixCrc(&batch);
  RecordIterator it(batch);
  RecordView record;
  int n = 0;
  while (it.Next(&record)) {
    EXPECT_EQ(record.timestamp, 99999);
    ++n;
  }
  EXPECT_TRUE(it.status().ok());
  EXPECT_EQ(n, 2);
}

TEST(RecordIteratorTest, HeadersDecode) {
  BatchBuilder builder;
  const HeaderRef headers[] = {{"a", "1"}, {"", std::nullopt}, {"c", ""}};
  builder.Add(1, "k", "v", headers);
  const std::string batch = builder.Build();
  RecordIterator it(batch);
  RecordView record;
  ASSERT_TRUE(it.Next(&record));
  EXPECT_EQ(record.header_count, 3);
  const std::vector<HeaderRef> decoded = record.Headers();
  ASSERT_EQ(decoded.size(), 3u);
  EXPECT_EQ(decoded[0].key, "a");
  EXPECT_EQ(decoded[0].value, "1");
  EXPECT_EQ(decoded[1].key, "");
  EXPECT_FALSE(decoded[1].value.has_value());
  EXPECT_EQ(decoded[2].key, "c");
  EXPECT_EQ(decoded[2].value, "");
}

TEST(RecordIteratorTest, CompressedBatchIsUnimplemented) {
  std::string batch = Batch(0, 1).substr(0, kBatchHeaderSize) + "zstd frame";
  StoreBE16(batch.data() + kAttributesPos, static_cast<uint16_t>(Compression::kZstd));
  StoreBE32(batch.data() + kBatchLengthPos, static_cast<uint32_t>(batch.size() - kLogOverhead));
  RecordIterator it(batch, kBase);
  RecordView record;
  EXPECT_FALSE(it.Next(&record));
  EXPECT_EQ(it.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(it.status().message(),
            absl::StrCat("batch at byte ", kBase, " is compressed with zstd; decode it first"));
}

TEST(RecordIteratorTest, DecompressedRecordsStream) {
  const std::string batch = Batch(50, 3);
  BatchHeader header = DecodeBatchHeader(batch.data());
  header.attributes = static_cast<int16_t>(Compression::kLz4);  // as if decoded elsewhere
  RecordIterator it(header, absl::string_view(batch).substr(kBatchHeaderSize));
  RecordView record;
  int64_t expected = 50;
  while (it.Next(&record)) {
    EXPECT_EQ(record.offset, expected);
    EXPECT_EQ(record.value, absl::StrCat("v", expected));
    ++expected;
  }
  EXPECT_TRUE(it.status().ok()) << it.status();
  EXPECT_EQ(expected, 53);
}

TEST(RecordIteratorTest, MalformedRecordIsDataLossWithPosition) {
  std::string batch = Batch(0, 3);
  // Record 0 is Length, attributes, tsΔ, offΔ, KeyLength (byte 65), "k0", ...
  batch[kBatchHeaderSize + 4] = 0x05;  // KeyLength -3
  RecordIterator it(batch, kBase);
  RecordView record;
  EXPECT_FALSE(it.Next(&record));
  EXPECT_EQ(it.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(it.status().message(),
                               absl::StrCat("batch at byte ", kBase + kBatchHeaderSize + 4,
                                            ": bad_key_length: record 0: KeyLength -3")))
      << it.status();
}

TEST(RecordIteratorTest, MissingRecordIsDataLoss) {
  std::string batch = Batch(0, 2);
  StoreBE32(batch.data() + kRecordsCountPos, 3);
  RecordIterator it(batch);
  RecordView record;
  ASSERT_TRUE(it.Next(&record));
  ASSERT_TRUE(it.Next(&record));
  EXPECT_FALSE(it.Next(&record));
  EXPECT_EQ(it.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(it.status().message(), "record_count_mismatch")) << it.status();
}

TEST(RecordIteratorTest, TruncatedBatchIsDataLoss) {
  const std::string batch = Batch(0, 2);
  RecordIterator it(absl::string_view(batch).substr(0, batch.size() - 1));
  RecordView record;
  EXPECT_FALSE(it.Next(&record));
  EXPECT_EQ(it.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(it.status().message(), "length_beyond_buffer")) << it.status();
}

TEST(RecordIteratorTest, NegativeRecordsCountIsDataLoss) {
  std::string batch = Batch(0, 1);
  StoreBE32(batch.data() + kRecordsCountPos, 0xffffffffu);
  RecordIterator it(batch);
  RecordView record;
  EXPECT_FALSE(it.Next(&record));
  EXPECT_EQ(it.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(it.status().message(), "bad_record_count")) << it.status();
}

TEST(RecordIteratorTest, CompactedBatchKeepsOffsetGaps) {
  // Records 0 and 2 of a three-record batch survive; LastOffsetDelta stays 2.
  const std::string full = Batch(10, 3);
  std::vector<absl::string_view> kept;
  {
    RecordIterator all(full);
    RecordView record;
    const char* previous = full.data() + kBatchHeaderSize;
    while (all.Next(&record)) {
      // A record ends where its headers end (none here: the HeadersCount byte is last).
      const char* end = record.headers_data.data() + record.headers_data.size();
      if (record.offset != 11) kept.emplace_back(previous, static_cast<size_t>(end - previous));
      previous = end;
    }
  }
  std::string batch = full.substr(0, kBatchHeaderSize);
  for (absl::string_view r : kept) batch.append(r.data(), r.size());
  StoreBE32(batch.data() + kRecordsCountPos, 2);
  StoreBE32(batch.data() + kBatchLengthPos, static_cast<uint32_t>(batch.size() - kLogOverhead));
  FixCrc(&batch);

  RecordIterator it(batch);
  RecordView record;
  std::vector<int64_t> offsets;
  while (it.Next(&record)) offsets.push_back(record.offset);
  EXPECT_TRUE(it.status().ok()) << it.status();
  EXPECT_EQ(offsets, (std::vector<int64_t>{10, 12}));
}

}  // namespace
}  // namespace varve
