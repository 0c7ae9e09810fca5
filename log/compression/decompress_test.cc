#include "log/compression/decompress.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "log/compression/test_codecs.h"

namespace varve {
namespace {

// Varied, partly compressible bytes: every value 0-255 appears.
std::string SampleData(size_t size) {
  std::string data;
  for (size_t i = 0; data.size() < size; ++i) {
    absl::StrAppend(&data, "record-", i, ":", std::string(i % 7, static_cast<char>(i * 31)));
  }
  data.resize(size);
  return data;
}

std::string MustDecompress(Compression codec, absl::string_view input,
                           const DecompressLimits& limits = {}) {
  std::string out;
  const absl::Status s = Decompress(codec, input, limits, &out);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

class CodecTest : public testing::TestWithParam<Compression> {};

TEST_P(CodecTest, RoundTrips) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{1000}, size_t{300 * 1000}}) {
    const std::string data = SampleData(size);
    EXPECT_EQ(MustDecompress(GetParam(), CompressForTest(GetParam(), data)), data) << size;
  }
}

TEST_P(CodecTest, TruncatedPayloadIsDataLoss) {
  if (GetParam() == Compression::kNone) GTEST_SKIP() << "no framing to truncate";
  const std::string payload = CompressForTest(GetParam(), SampleData(5000));
  for (size_t keep : {size_t{0}, size_t{3}, payload.size() / 2, payload.size() - 1}) {
    std::string out;
    const absl::Status s = Decompress(GetParam(), payload.substr(0, keep), {}, &out);
    EXPECT_TRUE(absl::IsDataLoss(s)) << keep << ": " << s;
  }
}

TEST_P(CodecTest, GarbageIsDataLoss) {
  if (GetParam() == Compression::kNone) GTEST_SKIP() << "anything is a valid payload";
  std::string out;
  const absl::Status s = Decompress(GetParam(), SampleData(777), {}, &out);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST_P(CodecTest, ZipBombIsResourceExhausted) {
  const std::string zeros(4 << 20, '\0');
  const std::string payload = CompressForTest(GetParam(), zeros);
  DecompressLimits limits;
  limits.min_bytes = 0;
  limits.max_ratio = 8;  // snappy's best ratio is about 21:1, the others' far higher
  std::string out;
  const absl::Status s = Decompress(GetParam(), payload, limits, &out);
  if (GetParam() == Compression::kNone) {
    EXPECT_TRUE(s.ok()) << s;  // 1:1 is within any ratio
  } else {
    EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
    EXPECT_LE(out.size(), static_cast<size_t>(limits.LimitFor(payload.size())) + 1);
  }
}

TEST_P(CodecTest, OutputExactlyAtTheLimitIsAccepted) {
  const std::string data = SampleData(10000);
  const std::string payload = CompressForTest(GetParam(), data);
  DecompressLimits limits;
  limits.min_bytes = 0;
  limits.max_bytes = static_cast<int64_t>(data.size());
  EXPECT_EQ(MustDecompress(GetParam(), payload, limits), data);
  limits.max_bytes -= 1;
  std::string out;
  EXPECT_TRUE(absl::IsResourceExhausted(Decompress(GetParam(), payload, limits, &out)));
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecTest,
                         testing::Values(Compression::kNone, Compression::kGzip,
                                         Compression::kSnappy, Compression::kLz4,
                                         Compression::kZstd),
                         [](const testing::TestParamInfo<Compression>& info) {
                           return std::string(CompressionName(info.param));
                         });

TEST(DecompressTest, RawSnappy) {
  const std::string data = SampleData(70000);
  const std::string payload = SnappyRawForTest(data);
  EXPECT_FALSE(HasXerialSnappyMagic(payload));
  EXPECT_EQ(MustDecompress(Compression::kSnappy, payload), data);
}

TEST(DecompressTest, XerialSnappyWithManyBlocks) {
  const std::string data = SampleData(100000);
  const std::string payload = SnappyXerialForTest(data, 4096);
  EXPECT_TRUE(HasXerialSnappyMagic(payload));
  EXPECT_EQ(MustDecompress(Compression::kSnappy, payload), data);
}

TEST(DecompressTest, XerialBlockLengthPastTheEndIsDataLoss) {
  std::string payload = SnappyXerialForTest(SampleData(1000));
  payload[16] = '\x7f';  // the first block's length
  std::string out;
  const absl::Status s = Decompress(Compression::kSnappy, payload, {}, &out);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("xerial block"), absl::string_view::npos) << s;
}

TEST(DecompressTest, XerialHeaderOnlyIsEmpty) {
  const std::string payload = SnappyXerialForTest("");
  EXPECT_EQ(payload.size(), 16u);
  EXPECT_EQ(MustDecompress(Compression::kSnappy, payload), "");
}

TEST(DecompressTest, ConcatenatedGzipMembers) {
  const std::string payload = GzipForTest("hello, ") + GzipForTest("world");
  EXPECT_EQ(MustDecompress(Compression::kGzip, payload), "hello, world");
}

TEST(DecompressTest, GzipTrailingGarbageIsDataLoss) {
  std::string out;
  const absl::Status s = Decompress(Compression::kGzip, GzipForTest("abc") + "xyz", {}, &out);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST(DecompressTest, ConcatenatedLz4Frames) {
  const std::string payload = Lz4FrameForTest("hello, ") + Lz4FrameForTest("world");
  EXPECT_EQ(MustDecompress(Compression::kLz4, payload), "hello, world");
}

TEST(DecompressTest, ZstdWithAndWithoutContentSize) {
  const std::string data = SampleData(200000);
  EXPECT_EQ(MustDecompress(Compression::kZstd, ZstdForTest(data, /*content_size=*/true)), data);
  EXPECT_EQ(MustDecompress(Compression::kZstd, ZstdForTest(data, /*content_size=*/false)), data);
}

TEST(DecompressTest, SnappyBombIsRejectedBeforeAllocating) {
  // A raw snappy preamble claiming 2 GiB, with no data behind it.
  const std::string payload("\x80\x80\x80\x80\x08", 5);
  std::string out;
  const absl::Status s = Decompress(Compression::kSnappy, payload, {}, &out);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_LT(out.capacity(), size_t{1} << 20);
}

TEST(DecompressTest, UnknownCodecIsInvalidArgument) {
  std::string out;
  EXPECT_TRUE(absl::IsInvalidArgument(Decompress(static_cast<Compression>(6), "x", {}, &out)));
}

TEST(DecompressTest, LimitFor) {
  DecompressLimits limits;
  EXPECT_EQ(limits.LimitFor(10), limits.min_bytes);
  EXPECT_EQ(limits.LimitFor(1 << 20), 64 << 20);
  EXPECT_EQ(limits.LimitFor(size_t{1} << 30), limits.max_bytes);
}

}  // namespace
}  // namespace varve
