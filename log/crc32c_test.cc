#include "log/crc32c.h"

#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace varve {
namespace {

using ExtendFn = uint32_t (*)(uint32_t, const void*, size_t);

struct Impl {
  const char* name;
  ExtendFn extend;
  bool available;
};

// Keeps gtest from printing the struct's bytes when a parameterised test fails.
void PrintTo(const Impl& impl, std::ostream* os) { *os << impl.name; }

std::string ImplName(const testing::TestParamInfo<Impl>& info) { return info.param.name; }

// Runs each test against the portable and the SSE4.2 code, and the dispatching entry point.
class Crc32cImplTest : public testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    if (!GetParam().available) GTEST_SKIP() << "CPU lacks SSE4.2";
  }
  uint32_t Crc(const void* data, size_t n) const { return GetParam().extend(0, data, n); }
  uint32_t Extend(uint32_t crc, const void* data, size_t n) const {
    return GetParam().extend(crc, data, n);
  }
};

INSTANTIATE_TEST_SUITE_P(Paths, Crc32cImplTest,
                         testing::Values(Impl{"Portable", crc32c_internal::ExtendPortable, true},
                                         Impl{"Sse42", crc32c_internal::ExtendSse42,
                                              crc32c_internal::HasSse42()},
                                         Impl{"Dispatch", Crc32cExtend, true}),
                         ImplName);

std::vector<uint8_t> RandomBytes(size_t n, std::mt19937_64& rng) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// iSCSI / RFC 3720 appendix B.4 test vectors plus the standard check value.
TEST_P(Crc32cImplTest, KnownAnswers) {
  EXPECT_EQ(Crc("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc("", 0), 0u);
  EXPECT_EQ(Crc(nullptr, 0), 0u);

  uint8_t buf[32];
  std::memset(buf, 0, sizeof(buf));
  EXPECT_EQ(Crc(buf, sizeof(buf)), 0x8A9136AAu);
  std::memset(buf, 0xFF, sizeof(buf));
  EXPECT_EQ(Crc(buf, sizeof(buf)), 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc(buf, sizeof(buf)), 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Crc(buf, sizeof(buf)), 0x113FDB5Cu);
}

// Inputs long enough to go through the three-stream blocks of the hardware path. The answers
// come from a byte-at-a-time reference outside this code base, so both paths drifting together
// would still be caught.
TEST_P(Crc32cImplTest, KnownAnswersLargeBuffers) {
  const std::vector<uint8_t> zeros(1 << 20, 0);
  EXPECT_EQ(Crc(zeros.data(), zeros.size()), 0x14298C12u);
  std::vector<uint8_t> pattern(100003);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(i % 251);
  EXPECT_EQ(Crc(pattern.data(), pattern.size()), 0xCAA08A5Cu);
}

TEST_P(Crc32cImplTest, ExtendEmptyIsIdentity) {
  EXPECT_EQ(Extend(0xE3069283u, "", 0), 0xE3069283u);
  EXPECT_EQ(Extend(0x12345678u, nullptr, 0), 0x12345678u);
}

TEST_P(Crc32cImplTest, ExtendChainsAtRandomSplits) {
  std::mt19937_64 rng(42);
  for (size_t n : {0, 1, 7, 8, 9, 100, 767, 768, 769, 4096, 24575, 24576, 24577, 100000}) {
    const std::vector<uint8_t> data = RandomBytes(n, rng);
    const uint32_t whole = Crc(data.data(), n);
    for (int trial = 0; trial < 20; ++trial) {
      const size_t split = n == 0 ? 0 : rng() % (n + 1);
      const uint32_t first = Crc(data.data(), split);
      EXPECT_EQ(Extend(first, data.data() + split, n - split), whole)
          << "n=" << n << " split=" << split;
    }
  }
}

TEST_P(Crc32cImplTest, ExtendChainsByteByByte) {
  std::mt19937_64 rng(7);
  const std::vector<uint8_t> data = RandomBytes(1000, rng);
  uint32_t crc = 0;
  for (uint8_t b : data) crc = Extend(crc, &b, 1);
  EXPECT_EQ(crc, Crc(data.data(), data.size()));
}

// The remaining tests compare the hardware path with the portable one, which is simple enough
// to trust once it passes the known answers.
class Crc32cAgreementTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!crc32c_internal::HasSse42()) GTEST_SKIP() << "CPU lacks SSE4.2";
  }
  static void ExpectAgree(uint32_t seed, const uint8_t* data, size_t n) {
    ASSERT_EQ(crc32c_internal::ExtendSse42(seed, data, n),
              crc32c_internal::ExtendPortable(seed, data, n))
        << "n=" << n << " seed=" << seed
        << " misalignment=" << (reinterpret_cast<uintptr_t>(data) & 63);
  }
};

TEST_F(Crc32cAgreementTest, EveryLengthUpTo4096) {
  std::mt19937_64 rng(1);
  const std::vector<uint8_t> data = RandomBytes(4096, rng);
  for (size_t n = 0; n <= data.size(); ++n) {
    ExpectAgree(0, data.data(), n);
    ExpectAgree(static_cast<uint32_t>(rng()), data.data(), n);
  }
}

TEST_F(Crc32cAgreementTest, EveryLengthAtEveryAlignment) {
  std::mt19937_64 rng(2);
  const std::vector<uint8_t> data = RandomBytes(4096 + 64, rng);
  for (size_t offset = 0; offset < 64; ++offset) {
    for (size_t n = 0; n <= 4096; n += 1 + offset % 5) {
      ExpectAgree(static_cast<uint32_t>(rng()), data.data() + offset, n);
    }
  }
}

TEST_F(Crc32cAgreementTest, RandomOffsetsAndLengths) {
  std::mt19937_64 rng(3);
  const std::vector<uint8_t> data = RandomBytes(200000, rng);
  for (int trial = 0; trial < 2000; ++trial) {
    const size_t offset = rng() % data.size();
    const size_t n = rng() % (data.size() - offset + 1);
    ExpectAgree(static_cast<uint32_t>(rng()), data.data() + offset, n);
  }
}

TEST_F(Crc32cAgreementTest, LargeOddBuffers) {
  std::mt19937_64 rng(4);
  const std::vector<uint8_t> data = RandomBytes((3 << 20) + 64, rng);
  for (size_t n : {(1u << 20) + 1, (1u << 20) + 13, (1u << 20) + 24577, 3u << 20}) {
    for (size_t offset : {0, 1, 3, 5, 7, 63}) {
      if (offset + n > data.size()) continue;
      ExpectAgree(0, data.data() + offset, n);
      ExpectAgree(0xDEADBEEF, data.data() + offset, n);
    }
  }
}

// The lengths at which the hardware path switches between its long blocks, short blocks and
// single-stream tail, where an off-by-one in the block arithmetic would show.
TEST_F(Crc32cAgreementTest, BlockBoundaries) {
  std::mt19937_64 rng(5);
  const std::vector<uint8_t> data = RandomBytes(4 * 24576 + 64, rng);
  for (size_t base : {768u, 2 * 768u, 24576u, 2 * 24576u, 24576u + 768u, 3 * 24576u}) {
    for (size_t n = base - 17; n <= base + 17; ++n) {
      for (size_t offset : {0, 1, 4}) ExpectAgree(0x5A5A5A5A, data.data() + offset, n);
    }
  }
}

}  // namespace
}  // namespace varve
