#include "log/batch_builder.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "log/batch_reader.h"
#include "log/batch_validator.h"
#include "log/varint.h"

namespace varve {
namespace {

struct Record {
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

std::optional<absl::string_view> View(const std::optional<std::string>& s) {
  if (!s.has_value()) return std::nullopt;
  return absl::string_view(*s);
}

void AddRecord(BatchBuilder* builder, const Record& r) {
  std::vector<HeaderRef> headers;
  for (const auto& [key, value] : r.headers) headers.push_back(HeaderRef{key, View(value)});
  builder->Add(r.timestamp, View(r.key), View(r.value), headers);
}

// Builds a batch of `records`, checks it passes client validation, and returns what the record
// iterator reads back.
std::vector<Record> RoundTrip(const std::vector<Record>& records) {
  BatchBuilder builder;
  for (const Record& r : records) AddRecord(&builder, r);
  const size_t expected_size = builder.size_bytes();
  const std::string batch = builder.Build();
  EXPECT_EQ(batch.size(), expected_size);
  ValidationOptions options;
  options.max_message_bytes = std::numeric_limits<int64_t>::max();  // LargeValue, ManyRecords
  const BatchCheck check = ValidateBatch(batch, options);
  EXPECT_TRUE(check.ok()) << check.ToStatus();

  std::vector<Record> out;
  RecordIterator it(batch);
  RecordView view;
  while (it.Next(&view)) {
    EXPECT_EQ(view.offset, static_cast<int64_t>(out.size()));
    Record r{view.timestamp, std::nullopt, std::nullopt, {}};
    if (view.key) r.key = std::string(*view.key);
    if (view.value) r.value = std::string(*view.value);
    const std::vector<HeaderRef> headers = view.Headers();
    EXPECT_EQ(headers.size(), static_cast<size_t>(view.header_count));
    for (const HeaderRef& h : headers) {
      r.headers.emplace_back(
          std::string(h.key),
          h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt);
    }
    out.push_back(std::move(r));
  }
  EXPECT_TRUE(it.status().ok()) << it.status();
  return out;
}

void ExpectSame(const std::vector<Record>& got, const std::vector<Record>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("record ", i));
    EXPECT_EQ(got[i].timestamp, want[i].timestamp);
    EXPECT_EQ(got[i].key, want[i].key);
    EXPECT_EQ(got[i].value, want[i].value);
    EXPECT_EQ(got[i].headers, want[i].headers);
  }
}

TEST(BatchBuilderTest, EmptyBuilderIsJustAHeader) {
  BatchBuilder builder;
  EXPECT_EQ(builder.record_count(), 0);
  EXPECT_EQ(builder.size_bytes(), static_cast<size_t>(kBatchHeaderSize));
}

TEST(BatchBuilderTest, NullKey) {
  const std::vector<Record> records = {{5, std::nullopt, "v", {}}};
  ExpectSame(RoundTrip(records), records);
}

TEST(BatchBuilderTest, NullValueIsATombstone) {
  const std::vector<Record> records = {{5, "k", std::nullopt, {}}};
  ExpectSame(RoundTrip(records), records);
}

TEST(BatchBuilderTest, EmptyKeyAndValueAreNotNull) {
  const std::vector<Record> records = {{5, "", "", {}}, {6, std::nullopt, std::nullopt, {}}};
  ExpectSame(RoundTrip(records), records);
}

TEST(BatchBuilderTest, HeadersWithNullValueAndEmptyKey) {
  const std::vector<Record> records = {
      {1, "k", "v", {{"trace", "abc"}, {"", "empty key"}, {"null", std::nullopt}, {"", ""}}},
      {2, "k2", "v2", {}},
      {3, std::nullopt, std::nullopt, {{"only", std::nullopt}}},
  };
  ExpectSame(RoundTrip(records), records);
}

TEST(BatchBuilderTest, TimestampsGoingBackwardsUseNegativeDeltas) {
  const std::vector<Record> records = {
      {1000, "a", "1", {}}, {900, "b", "2", {}}, {1100, "c", "3", {}}, {-5, "d", "4", {}}};
  ExpectSame(RoundTrip(records), records);

  BatchBuilder builder;
  for (const Record& r : records) AddRecord(&builder, r);
  const std::string batch = builder.Build();
  const BatchHeader h = DecodeBatchHeader(batch.data());
  EXPECT_EQ(h.base_timestamp, 1000);  // the first record's, not the smallest
  EXPECT_EQ(h.max_timestamp, 1100);
}

TEST(BatchBuilderTest, ExtremeTimestampsRoundTrip) {
  const std::vector<Record> records = {{std::numeric_limits<int64_t>::max(), "a", "1", {}},
                                       {std::numeric_limits<int64_t>::min(), "b", "2", {}}};
  ExpectSame(RoundTrip(records), records);
}

TEST(BatchBuilderTest, VarintBoundaryLengths) {
  // 63 and 64 (and 8191/8192) straddle one- and two- (two- and three-) byte zig-zag varints.
  for (int n : {63, 64, 8191, 8192}) {
    SCOPED_TRACE(n);
    const std::vector<Record> records = {
        {7, std::string(n, 'k'), std::string(n, 'v'), {}},
        {8, "x", std::string(n, 'w'), {{std::string(n, 'h'), std::string(n, 'z')}}}};
    ExpectSame(RoundTrip(records), records);

    BatchBuilder builder;
    builder.Add(0, std::nullopt, std::string(n, 'v'));
    // Length, attributes, tsΔ, offΔ, KeyLength, ValueLength + value, HeadersCount.
    const int body = 1 + 1 + 1 + 1 + VarintSize(n) + n + 1;
    EXPECT_EQ(builder.size_bytes(),
              static_cast<size_t>(kBatchHeaderSize + VarintSize(body) + body));
  }
}

TEST(BatchBuilderTest, LargeValue) {
  const std::vector<Record> records = {{1, "big", std::string(1 << 20, 'x'), {}}};
  ExpectSame(RoundTrip(records), records);
}

TEST(BatchBuilderTest, ManyRecords) {
  std::vector<Record> records;
  for (int i = 0; i < 10000; ++i) {
    records.push_back(
        {1000 + i % 17, absl::StrCat("key-", i), std::string(i % 300, 'a' + i % 26), {}});
  }
  ExpectSame(RoundTrip(records), records);
}

TEST(BatchBuilderTest, OptionsFillTheHeader) {
  BatchBuilder::Options options;
  options.base_offset = 500;
  options.partition_leader_epoch = 3;
  options.producer_id = 77;
  options.producer_epoch = 2;
  options.base_sequence = 40;
  options.transactional = true;
  BatchBuilder builder(options);
  builder.Add(10, "a", "b");
  builder.Add(20, "c", "d");
  const std::string batch = builder.Build();
  const BatchHeader h = DecodeBatchHeader(batch.data());
  EXPECT_EQ(h.base_offset, 500);
  EXPECT_EQ(h.partition_leader_epoch, 3);
  EXPECT_EQ(h.producer_id, 77);
  EXPECT_EQ(h.producer_epoch, 2);
  EXPECT_EQ(h.base_sequence, 40);
  EXPECT_TRUE(h.is_transactional());
  EXPECT_FALSE(h.is_control());
  EXPECT_EQ(h.last_offset_delta, 1);
  EXPECT_EQ(h.records_count, 2);
  EXPECT_EQ(h.last_offset(), 501);
  EXPECT_EQ(h.crc, ComputeBatchCrc(batch));
}

TEST(BatchBuilderTest, LogAppendTimeSetsTheBit) {
  BatchBuilder::Options options;
  options.timestamp_type = TimestampType::kLogAppendTime;
  BatchBuilder builder(options);
  builder.Add(10, "a", "b");
  builder.Add(30, "c", "d");
  const std::string batch = builder.Build();
  const BatchHeader h = DecodeBatchHeader(batch.data());
  EXPECT_EQ(h.timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_EQ(h.max_timestamp, 30);
  ValidationOptions broker;
  broker.from_client = false;
  EXPECT_TRUE(ValidateBatch(batch, broker).ok());
}

TEST(BatchBuilderTest, BuildEmptiesTheBuilderAndKeepsOptions) {
  BatchBuilder::Options options;
  options.base_offset = 9;
  BatchBuilder builder(options);
  builder.Add(1, "a", "b");
  const std::string first = builder.Build();
  EXPECT_EQ(builder.record_count(), 0);
  EXPECT_EQ(builder.size_bytes(), static_cast<size_t>(kBatchHeaderSize));
  builder.Add(1, "a", "b");
  EXPECT_EQ(builder.Build(), first);
}

TEST(BatchBuilderTest, BuildIntoMatchesBuildAndReusesBuffers) {
  BatchBuilder a;
  BatchBuilder b;
  std::string out;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 50; ++i) {
      a.Add(i, "key", std::string(100, 'v'));
      b.Add(i, "key", std::string(100, 'v'));
    }
    b.BuildInto(&out);
    EXPECT_EQ(out, a.Build());
  }
  // Two buffers ping-pong between `b` and `out`: after a warm-up neither regrows.
  const char* before = out.data();
  for (int i = 0; i < 50; ++i) b.Add(i, "key", std::string(100, 'v'));
  b.BuildInto(&out);
  for (int i = 0; i < 50; ++i) b.Add(i, "key", std::string(100, 'v'));
  b.BuildInto(&out);
  EXPECT_EQ(out.data(), before);
}

TEST(BatchBuilderTest, ASmallerBatchInAReusedBufferCarriesNoStaleBytes) {
  // The builder no longer clears its buffer between batches: a small batch built into storage
  // that held a large one must still be exactly what a fresh builder makes.
  BatchBuilder reused;
  std::string out;
  for (int i = 0; i < 20; ++i) reused.Add(i, "big-key", std::string(4000, 'x'));
  reused.BuildInto(&out);
  for (int i = 0; i < 20; ++i) reused.Add(i, "big-key", std::string(4000, 'y'));
  reused.BuildInto(&out);  // both buffers have now held a large batch
  BatchBuilder fresh;
  for (BatchBuilder* b : {&reused, &fresh}) {
    b->Add(7, std::nullopt, "v");
    b->Add(8, "k", std::nullopt);
  }
  EXPECT_EQ(reused.size_bytes(), fresh.size_bytes());
  reused.BuildInto(&out);
  EXPECT_EQ(out, fresh.Build());
  ValidationOptions options;
  EXPECT_TRUE(ValidateBatch(out, options).ok());
}

TEST(BatchBuilderTest, ResetDropsRecordsAndTakesNewOptions) {
  BatchBuilder builder;
  builder.Add(1, "a", "b");
  BatchBuilder::Options options;
  options.base_offset = 42;
  builder.Reset(options);
  EXPECT_EQ(builder.record_count(), 0);
  builder.Add(2, "c", "d");
  const std::string batch = builder.Build();
  const BatchHeader h = DecodeBatchHeader(batch.data());
  EXPECT_EQ(h.base_offset, 42);
  EXPECT_EQ(h.records_count, 1);
  EXPECT_EQ(h.base_timestamp, 2);
}

}  // namespace
}  // namespace varve
