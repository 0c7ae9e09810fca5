#include "log/varint.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace varve {
namespace {

std::string Bytes(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::string EncodeVarint(int32_t v) {
  char buf[kMaxVarintBytes];
  return std::string(buf, PutVarint(buf, v));
}
std::string EncodeVarlong(int64_t v) {
  char buf[kMaxVarlongBytes];
  return std::string(buf, PutVarlong(buf, v));
}
std::string EncodeUvarint(uint32_t v) {
  char buf[kMaxVarintBytes];
  return std::string(buf, PutUvarint(buf, v));
}

// Decodes from a heap copy holding exactly `s`, so AddressSanitizer flags any read past the
// limit. Returns how many bytes were consumed, or -1 when the decoder returned nullptr.
template <typename T, typename Decoder>
int Decode(const std::string& s, Decoder decode, T* out) {
  std::unique_ptr<char[]> copy(new char[s.size()]);
  std::copy(s.begin(), s.end(), copy.get());
  const char* end = decode(copy.get(), copy.get() + s.size(), out);
  return end == nullptr ? -1 : static_cast<int>(end - copy.get());
}

int DecodeVarint(const std::string& s, int32_t* v) { return Decode(s, GetVarint, v); }
int DecodeVarlong(const std::string& s, int64_t* v) { return Decode(s, GetVarlong, v); }
int DecodeUvarint(const std::string& s, uint32_t* v) { return Decode(s, GetUvarint, v); }

void ExpectVarintRoundTrip(int32_t v) {
  const std::string enc = EncodeVarint(v);
  EXPECT_EQ(static_cast<int>(enc.size()), VarintSize(v)) << v;
  int32_t out = 0;
  EXPECT_EQ(DecodeVarint(enc, &out), static_cast<int>(enc.size())) << v;
  EXPECT_EQ(out, v);
}

void ExpectVarlongRoundTrip(int64_t v) {
  const std::string enc = EncodeVarlong(v);
  EXPECT_EQ(static_cast<int>(enc.size()), VarlongSize(v)) << v;
  int64_t out = 0;
  EXPECT_EQ(DecodeVarlong(enc, &out), static_cast<int>(enc.size())) << v;
  EXPECT_EQ(out, v);
}

TEST(ZigZag, ReferenceExamples) {
  struct Case {
    int32_t value;
    std::string bytes;
  };
  const Case cases[] = {
      {0, Bytes({0x00})},  {-1, Bytes({0x01})},  {1, Bytes({0x02})},        {-2, Bytes({0x03})},
      {63, Bytes({0x7E})}, {-64, Bytes({0x7F})}, {64, Bytes({0x80, 0x01})},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EncodeVarint(c.value), c.bytes) << c.value;
    EXPECT_EQ(EncodeVarlong(c.value), c.bytes) << c.value;
    int32_t v32 = 99;
    EXPECT_EQ(DecodeVarint(c.bytes, &v32), static_cast<int>(c.bytes.size()));
    EXPECT_EQ(v32, c.value);
    int64_t v64 = 99;
    EXPECT_EQ(DecodeVarlong(c.bytes, &v64), static_cast<int>(c.bytes.size()));
    EXPECT_EQ(v64, c.value);
  }
}

TEST(ZigZag, MapsSmallMagnitudesToSmallCodes) {
  EXPECT_EQ(ZigZagEncode32(std::numeric_limits<int32_t>::max()), 0xFFFFFFFEu);
  EXPECT_EQ(ZigZagEncode32(std::numeric_limits<int32_t>::min()), 0xFFFFFFFFu);
  EXPECT_EQ(ZigZagEncode64(std::numeric_limits<int64_t>::max()), 0xFFFFFFFFFFFFFFFEu);
  EXPECT_EQ(ZigZagEncode64(std::numeric_limits<int64_t>::min()), 0xFFFFFFFFFFFFFFFFu);
  for (int64_t v = -1000; v <= 1000; ++v) {
    const uint64_t expected = v >= 0 ? 2 * v : -2 * v - 1;
    EXPECT_EQ(ZigZagEncode64(v), expected);
    EXPECT_EQ(ZigZagDecode64(expected), v);
    EXPECT_EQ(ZigZagEncode32(static_cast<int32_t>(v)), expected);
    EXPECT_EQ(ZigZagDecode32(static_cast<uint32_t>(expected)), v);
  }
}

TEST(Varint, Int32Limits) {
  EXPECT_EQ(EncodeVarint(std::numeric_limits<int32_t>::max()),
            Bytes({0xFE, 0xFF, 0xFF, 0xFF, 0x0F}));
  EXPECT_EQ(EncodeVarint(std::numeric_limits<int32_t>::min()),
            Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}));
  EXPECT_EQ(VarintSize(std::numeric_limits<int32_t>::max()), 5);
  EXPECT_EQ(VarintSize(std::numeric_limits<int32_t>::min()), 5);
  ExpectVarintRoundTrip(std::numeric_limits<int32_t>::max());
  ExpectVarintRoundTrip(std::numeric_limits<int32_t>::min());
}

TEST(Varlong, Int64Limits) {
  EXPECT_EQ(EncodeVarlong(std::numeric_limits<int64_t>::max()),
            Bytes({0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
  EXPECT_EQ(EncodeVarlong(std::numeric_limits<int64_t>::min()),
            Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
  EXPECT_EQ(VarlongSize(std::numeric_limits<int64_t>::max()), 10);
  EXPECT_EQ(VarlongSize(std::numeric_limits<int64_t>::min()), 10);
  ExpectVarlongRoundTrip(std::numeric_limits<int64_t>::max());
  ExpectVarlongRoundTrip(std::numeric_limits<int64_t>::min());
}

// LEB128 grows by a byte each time the value reaches 2^(7k).
TEST(UnsignedVarSize, PowerOfTwoBoundaries) {
  EXPECT_EQ(UnsignedVarSize(0), 1);
  for (int k = 1; k <= 9; ++k) {
    const uint64_t boundary = uint64_t{1} << (7 * k);
    EXPECT_EQ(UnsignedVarSize(boundary - 1), k) << k;
    EXPECT_EQ(UnsignedVarSize(boundary), k + 1) << k;
    EXPECT_EQ(UnsignedVarSize(boundary + 1), k + 1) << k;
  }
  EXPECT_EQ(UnsignedVarSize(std::numeric_limits<uint64_t>::max()), 10);
}

// Zig-zag doubles the magnitude, so a signed value changes size at ±2^(7k-1).
TEST(Varlong, SizeBoundaries) {
  for (int k = 1; k <= 9; ++k) {
    const int64_t half = int64_t{1} << (7 * k - 1);
    EXPECT_EQ(VarlongSize(half - 1), k) << k;
    EXPECT_EQ(VarlongSize(half), k + 1) << k;
    EXPECT_EQ(VarlongSize(-half), k) << k;
    EXPECT_EQ(VarlongSize(-half - 1), k + 1) << k;
    for (int64_t v : {half - 2, half - 1, half, half + 1, -half + 1, -half, -half - 1}) {
      ExpectVarlongRoundTrip(v);
    }
  }
}

TEST(Varint, SizeBoundaries) {
  for (int k = 1; k <= 4; ++k) {
    const int32_t half = int32_t{1} << (7 * k - 1);
    EXPECT_EQ(VarintSize(half - 1), k) << k;
    EXPECT_EQ(VarintSize(half), k + 1) << k;
    EXPECT_EQ(VarintSize(-half), k) << k;
    EXPECT_EQ(VarintSize(-half - 1), k + 1) << k;
    for (int32_t v : {half - 2, half - 1, half, half + 1, -half + 1, -half, -half - 1}) {
      ExpectVarintRoundTrip(v);
    }
  }
}

TEST(Varint, RandomRoundTrips) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    // Spread values over all sizes rather than mostly 5-byte ones.
    const int shift = static_cast<int>(rng() % 64);
    const uint64_t bits = rng() >> shift;
    ExpectVarintRoundTrip(static_cast<int32_t>(bits));
    ExpectVarlongRoundTrip(static_cast<int64_t>(bits));
  }
}

TEST(Varint, StopsAtTheEndOfTheValue) {
  const std::string enc = EncodeVarint(300) + EncodeVarint(-7);
  int32_t v = 0;
  const char* p = enc.data();
  const char* limit = enc.data() + enc.size();
  p = GetVarint(p, limit, &v);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(v, 300);
  p = GetVarint(p, limit, &v);
  ASSERT_EQ(p, limit);
  EXPECT_EQ(v, -7);
  EXPECT_EQ(GetVarint(p, limit, &v), nullptr);
}

// Every proper prefix of an encoding ends inside the value; Decode() uses an exact-size heap
// buffer so a read past the limit would trip AddressSanitizer.
TEST(Varint, TruncatedInputReturnsNull) {
  for (int64_t v : {int64_t{64}, int64_t{-8193}, int64_t{1} << 40,
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    const std::string full = EncodeVarlong(v);
    for (size_t len = 0; len < full.size(); ++len) {
      int64_t out = 12345;
      EXPECT_EQ(DecodeVarlong(full.substr(0, len), &out), -1) << v << " len=" << len;
      EXPECT_EQ(out, 12345) << "output written on failure";
    }
  }
  const std::string full32 = EncodeVarint(std::numeric_limits<int32_t>::min());
  for (size_t len = 0; len < full32.size(); ++len) {
    int32_t v32;
    uint32_t u32;
    EXPECT_EQ(DecodeVarint(full32.substr(0, len), &v32), -1) << len;
    EXPECT_EQ(DecodeUvarint(full32.substr(0, len), &u32), -1) << len;
  }
}

// Kafka rejects a varint whose 5th byte (varlong: 10th) still has the continuation bit set,
// even when more input follows.
TEST(Varint, OverlongEncodingsReturnNull) {
  int32_t v32;
  uint32_t u32;
  int64_t v64;
  const std::string six = Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  EXPECT_EQ(DecodeVarint(six, &v32), -1);
  EXPECT_EQ(DecodeUvarint(six, &u32), -1);
  EXPECT_EQ(DecodeVarint(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), &v32), -1);

  std::string eleven(10, static_cast<char>(0x80));
  eleven.push_back(0x00);
  EXPECT_EQ(DecodeVarlong(eleven, &v64), -1);
  std::string eleven_ones(10, static_cast<char>(0xFF));
  eleven_ones.push_back(0x01);
  EXPECT_EQ(DecodeVarlong(eleven_ones, &v64), -1);

  // The 6-byte input is a fine varlong, though: only the width limit differs.
  EXPECT_EQ(DecodeVarlong(six, &v64), 6);
  EXPECT_EQ(v64, 0);
}

// Like Kafka's ByteUtils, the decoders accept padded (non-minimal) encodings and drop bits that
// do not fit the type from the last permitted byte.
TEST(Varint, NonMinimalEncodingsAreAcceptedLikeKafka) {
  int32_t v32;
  EXPECT_EQ(DecodeVarint(Bytes({0x82, 0x80, 0x00}), &v32), 3);
  EXPECT_EQ(v32, 1);
  EXPECT_EQ(DecodeVarint(Bytes({0xFE, 0xFF, 0xFF, 0xFF, 0x7F}), &v32), 5);
  EXPECT_EQ(v32, std::numeric_limits<int32_t>::max());
  int64_t v64;
  EXPECT_EQ(
      DecodeVarlong(Bytes({0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}), &v64), 10);
  EXPECT_EQ(v64, std::numeric_limits<int64_t>::max());
}

TEST(Uvarint, RoundTrips) {
  struct Case {
    uint32_t value;
    std::string bytes;
  };
  const Case cases[] = {
      {0, Bytes({0x00})},
      {1, Bytes({0x01})},
      {127, Bytes({0x7F})},
      {128, Bytes({0x80, 0x01})},
      {300, Bytes({0xAC, 0x02})},
      {16383, Bytes({0xFF, 0x7F})},
      {16384, Bytes({0x80, 0x80, 0x01})},
      {std::numeric_limits<uint32_t>::max(), Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F})},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EncodeUvarint(c.value), c.bytes) << c.value;
    EXPECT_EQ(static_cast<int>(c.bytes.size()), UnsignedVarSize(c.value));
    uint32_t out = 0;
    EXPECT_EQ(DecodeUvarint(c.bytes, &out), static_cast<int>(c.bytes.size()));
    EXPECT_EQ(out, c.value);
  }
  std::mt19937 rng(2);
  for (int i = 0; i < 10000; ++i) {
    const uint32_t value = rng() >> (rng() % 32);
    uint32_t out = 0;
    const std::string enc = EncodeUvarint(value);
    EXPECT_EQ(DecodeUvarint(enc, &out), static_cast<int>(enc.size()));
    EXPECT_EQ(out, value);
  }
}

}  // namespace
}  // namespace varve
