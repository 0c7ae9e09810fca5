// Log::OffsetForTimestamp (log_read.cc) on compressed batches: with LogOptions::decompress the
// answer is the exact record, as Kafka's, for every codec producers use; without it, the
// batch's base offset. Batches are compressed as clients compress them
// (log/compression/test_codecs.h) and decoded by the broker's decompressor.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"
#include "log/compression/decompress.h"
#include "log/compression/test_codecs.h"
#include "log/log.h"

namespace varve {
namespace {

using ::testing::HasSubstr;

// One batch of records with these timestamps, values "v<i>", compressed with `codec`.
std::string Batch(const std::vector<int64_t>& timestamps, Compression codec) {
  BatchBuilder builder;
  for (size_t i = 0; i < timestamps.size(); ++i) {
    builder.Add(timestamps[i], "k", absl::StrCat("v", i, std::string(10, 'x')));
  }
  const std::string batch = builder.Build();
  return codec == Compression::kNone ? batch : CompressBatchForTest(batch, codec);
}

// Timestamps first, first + 1, ..., first + n - 1.
std::vector<int64_t> Stamps(int64_t first, int n) {
  std::vector<int64_t> v;
  for (int i = 0; i < n; ++i) v.push_back(first + i);
  return v;
}

absl::Status RealDecompress(Compression codec, absl::string_view payload, std::string* out) {
  return Decompress(codec, payload, DecompressLimits(), out);
}

class OffsetForTimestampTest : public ::testing::Test {
 protected:
  OffsetForTimestampTest() {
    // Several segments, and time-index entries inside them, so lookups start mid-segment.
    options_.config.segment_bytes = 500;
    options_.config.index_interval_bytes = 100;
    // Near the records' timestamps, so time retention (run by DeleteRecordsBefore) keeps them.
    options_.now_ms = [] { return int64_t{1'000'000}; };
    options_.decompress = [this](Compression codec, absl::string_view payload, std::string* out) {
      ++decompress_calls_;
      return RealDecompress(codec, payload, out);
    };
  }

  std::unique_ptr<Log> OpenLog() {
    auto log = Log::Open(dir_.Sub("t-0"), options_);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  // Appends `batch` (a copy: the log rewrites its BaseOffset).
  void Append(Log* log, std::string batch) {
    auto info = log->AppendBatch(absl::MakeSpan(batch));
    ASSERT_TRUE(info.ok()) << info.status();
  }
  // {offset, timestamp} found for `ts`, or {-1, -1} for none.
  std::pair<int64_t, int64_t> Find(const Log& log, int64_t ts) {
    absl::StatusOr<std::optional<TimestampAndOffset>> found = log.OffsetForTimestamp(ts);
    EXPECT_TRUE(found.ok()) << found.status();
    if (!found.ok() || !found->has_value()) return {-1, -1};
    return {(*found)->offset, (*found)->timestamp};
  }

  TempDir dir_;
  LogOptions options_;
  int decompress_calls_ = 0;
};

class EveryCodecTest : public OffsetForTimestampTest,
                       public ::testing::WithParamInterface<Compression> {};

TEST_P(EveryCodecTest, FindsTheExactRecordInsideCompressedBatches) {
  const Compression codec = GetParam();
  auto log = OpenLog();
  Append(log.get(), Batch(Stamps(1000, 5), Compression::kNone));  // offsets 0-4
  Append(log.get(), Batch(Stamps(2000, 10), codec));              // 5-14
  Append(log.get(), Batch(Stamps(3000, 10), codec));              // 15-24
  // Out of order inside a batch: the first record in offset order with a timestamp >= the
  // target, not the one with the smallest such timestamp.
  Append(log.get(), Batch({4000, 4007, 4003, 4009, 4001}, codec));  // 25-29
  Append(log.get(), Batch(Stamps(5000, 3), Compression::kNone));    // 30-32
  ASSERT_GT(log->SegmentBaseOffsets().size(), 1u);
  const std::vector<std::pair<int64_t, std::pair<int64_t, int64_t>>> cases = {
      {0, {0, 1000}},      // before every record
      {1003, {3, 1003}},   // uncompressed, as before
      {1005, {5, 2000}},   // between batches: the next batch's first record
      {2000, {5, 2000}},   // a compressed batch's first record
      {2005, {10, 2005}},  // its middle
      {2009, {14, 2009}},  // its last record
      {2500, {15, 3000}},
      {3006, {21, 3006}},
      {4002, {26, 4007}},
      {4008, {28, 4009}},
      {4009, {28, 4009}},
      {4010, {30, 5000}},  // past a compressed batch's max: the uncompressed
                           // one after it
      {5002, {32, 5002}},
      {5003, {-1, -1}},  // after every record
  };
  for (const auto& [ts, want] : cases) {
    EXPECT_EQ(Find(*log, ts), want) << CompressionName(codec) << " at " << ts;
  }
  EXPECT_GT(decompress_calls_, 0);
}

INSTANTIATE_TEST_SUITE_P(Codecs, EveryCodecTest,
                         ::testing::Values(Compression::kGzip, Compression::kSnappy,
                                           Compression::kLz4, Compression::kZstd),
                         [](const ::testing::TestParamInfo<Compression>& info) {
                           return std::string(CompressionName(info.param));
                         });

TEST_F(OffsetForTimestampTest, RawSnappyAsLibrdkafkaWritesIt) {
  // librdkafka's snappy payloads have no xerial framing (the Java client's have).
  const std::string plain = Batch(Stamps(7000, 6), Compression::kNone);
  auto log = OpenLog();
  Append(log.get(), BatchWithPayloadForTest(
                        plain, Compression::kSnappy,
                        SnappyRawForTest(absl::string_view(plain).substr(kBatchHeaderSize))));
  EXPECT_EQ(Find(*log, 7004), std::make_pair(int64_t{4}, int64_t{7004}));
}

TEST_F(OffsetForTimestampTest, DecodesOnlyTheBatchHoldingTheAnswer) {
  auto log = OpenLog();
  for (int b = 0; b < 6; ++b)
    Append(log.get(), Batch(Stamps(1000 * (b + 1), 4), Compression::kLz4));
  decompress_calls_ = 0;
  EXPECT_EQ(Find(*log, 5002), std::make_pair(int64_t{18}, int64_t{5002}));
  EXPECT_EQ(decompress_calls_, 1);
}

TEST_F(OffsetForTimestampTest, SkipsRecordsBelowTheLogStartInsideACompressedBatch) {
  auto log = OpenLog();
  Append(log.get(), Batch(Stamps(1000, 3), Compression::kNone));  // 0-2
  Append(log.get(), Batch(Stamps(2000, 8), Compression::kZstd));  // 3-10
  Append(log.get(), Batch(Stamps(3000, 2), Compression::kNone));  // 11-12
  ASSERT_TRUE(log->DeleteRecordsBefore(6).ok());
  ASSERT_EQ(log->start_offset(), 6);
  EXPECT_EQ(Find(*log, 0), std::make_pair(int64_t{6}, int64_t{2003}));
  EXPECT_EQ(Find(*log, 2001), std::make_pair(int64_t{6}, int64_t{2003}));
  EXPECT_EQ(Find(*log, 2005), std::make_pair(int64_t{8}, int64_t{2005}));
  EXPECT_EQ(Find(*log, 2008), std::make_pair(int64_t{11}, int64_t{3000}));
}

TEST_F(OffsetForTimestampTest, WithoutADecompressorTheBatchBaseOffsetAndMaxTimestamp) {
  options_.decompress = nullptr;
  auto log = OpenLog();
  Append(log.get(), Batch(Stamps(1000, 3), Compression::kNone));           // 0-2
  Append(log.get(), Batch(Stamps(2000, 8), Compression::kGzip));           // 3-10
  EXPECT_EQ(Find(*log, 1001), std::make_pair(int64_t{1}, int64_t{1001}));  // exact
  EXPECT_EQ(Find(*log, 2005), std::make_pair(int64_t{3}, int64_t{2007}));  // the batch's
  ASSERT_TRUE(log->DeleteRecordsBefore(5).ok());
  EXPECT_EQ(Find(*log, 2005), std::make_pair(int64_t{5}, int64_t{2007}));  // never below start
}

// A producer's corrupt payload (appends store compressed payloads unread; the producer's CRC
// covers whatever it sent): a lookup that needs the batch fails naming the file and the batch's
// position instead of answering wrong; lookups answered elsewhere still work.
TEST_F(OffsetForTimestampTest, PayloadThatDoesNotDecompressIsDataLossNamingFileAndByte) {
  options_.config.segment_bytes = 1 << 20;  // one segment: the position is known
  auto log = OpenLog();
  const std::string first = Batch(Stamps(1000, 3), Compression::kNone);
  Append(log.get(), first);  // 0-2
  Append(log.get(),
         BatchWithPayloadForTest(Batch(Stamps(2000, 4), Compression::kNone), Compression::kGzip,
                                 "not a gzip stream"));           // 3-6
  Append(log.get(), Batch(Stamps(3000, 2), Compression::kNone));  // 7-8
  absl::StatusOr<std::optional<TimestampAndOffset>> failed = log->OffsetForTimestamp(2001);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kDataLoss) << failed.status();
  EXPECT_THAT(failed.status().message(),
              HasSubstr(absl::StrCat("t-0/00000000000000000000.log: batch at byte ", first.size(),
                                     " (offsets 3-6) does not decompress (gzip): gzip: ")));
  EXPECT_EQ(Find(*log, 1002), std::make_pair(int64_t{2}, int64_t{1002}));
  EXPECT_EQ(Find(*log, 2500), std::make_pair(int64_t{7}, int64_t{3000}));
}

TEST_F(OffsetForTimestampTest, MalformedDecompressedRecordsAreDataLoss) {
  auto log = OpenLog();
  const std::string plain = Batch(Stamps(2000, 4), Compression::kNone);
  // A valid zstd stream whose content is not the 4 records the header promises.
  Append(log.get(), BatchWithPayloadForTest(
                        plain, Compression::kZstd,
                        ZstdForTest(absl::string_view(plain).substr(kBatchHeaderSize, 9))));
  absl::StatusOr<std::optional<TimestampAndOffset>> failed = log->OffsetForTimestamp(2002);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kDataLoss) << failed.status();
  EXPECT_THAT(failed.status().message(),
              HasSubstr("00000000000000000000.log: batch at byte 0 (offsets 0-3), in its "
                        "decompressed records: "));
}

TEST_F(OffsetForTimestampTest, PastTheDecompressorsLimitIsResourceExhausted) {
  options_.decompress = [](Compression codec, absl::string_view payload, std::string* out) {
    return Decompress(codec, payload, DecompressLimits{.max_ratio = 2, .min_bytes = 64}, out);
  };
  auto log = OpenLog();
  Append(log.get(), Batch(Stamps(2000, 20), Compression::kZstd));  // compresses far better than 2:1
  absl::StatusOr<std::optional<TimestampAndOffset>> failed = log->OffsetForTimestamp(2010);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted) << failed.status();
  EXPECT_THAT(failed.status().message(), HasSubstr("batch at byte 0 (offsets 0-19)"));
}

}  // namespace
}  // namespace varve
