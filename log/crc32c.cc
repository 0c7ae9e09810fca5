#include "log/crc32c.h"

#include <nmmintrin.h>

#include <array>
#include <cstring>

namespace varve {
namespace crc32c_internal {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;

// Slice-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t;
  constexpr Tables() : t() {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t c = b;
      for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1) ? kPoly : 0);
      t[0][b] = c;
    }
    for (int k = 1; k < 8; ++k) {
      for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
    }
  }
};
constexpr Tables kTables;

// ---- Shifting a CRC register over zero bytes --------------------------------------------------
//
// The raw CRC register (no pre/post inversion) is linear over GF(2) in (state, data). So if three
// streams A, B, C of n bytes each are run independently, B and C starting from 0, then
//   reg(A ++ B ++ C) = Shift_n(Shift_n(reg(A)) ^ reg(B)) ^ reg(C),
// where Shift_n(r) is the register after feeding n zero bytes, i.e. r * x^(8n) mod P. That lets
// the SSE4.2 path keep three crc32 instructions in flight (the instruction has a latency of three
// cycles but a throughput of one per cycle) and stitch the streams together afterwards.

// Product of two polynomials modulo P, in the reflected representation (bit 31 is x^0).
constexpr uint32_t MultModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;  // b *= x
  }
  return product;
}

// x^(8 * n) mod P: the multiplier that shifts a register over n zero bytes.
constexpr uint32_t ZeroBytesMultiplier(size_t n) {
  uint32_t result = 1u << 31;  // x^0
  uint32_t square = 1u << 23;  // x^8
  for (; n != 0; n >>= 1) {
    if (n & 1) result = MultModP(result, square);
    square = MultModP(square, square);
  }
  return result;
}

// Shift_n as four byte-indexed lookups: by linearity, Shift_n(r) is the XOR of the shifts of r's
// four bytes, and each byte's shift is tabulated.
struct ShiftTable {
  std::array<std::array<uint32_t, 256>, 4> t;
  explicit constexpr ShiftTable(size_t n) : t() {
    const uint32_t multiplier = ZeroBytesMultiplier(n);
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) t[k][b] = MultModP(b << (8 * k), multiplier);
    }
  }
  uint32_t Shift(uint32_t crc) const {
    return t[0][crc & 0xFF] ^ t[1][(crc >> 8) & 0xFF] ^ t[2][(crc >> 16) & 0xFF] ^ t[3][crc >> 24];
  }
};

// Two stream lengths: long blocks amortise the two table shifts per block to nothing on large
// buffers; short blocks still give a 3x speed-up on batches of a few KiB.
constexpr size_t kLongStream = 8192;
constexpr size_t kShortStream = 256;
constexpr ShiftTable kLongShift(kLongStream);
constexpr ShiftTable kShortShift(kShortStream);

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Runs as many 3 * `stream` byte blocks as fit, each as three interleaved crc32 chains.
__attribute__((target("sse4.2"))) inline uint32_t ThreeStreams(uint32_t crc, const uint8_t*& p,
                                                               size_t& n, size_t stream,
                                                               const ShiftTable& shift) {
  while (n >= 3 * stream) {
    uint64_t c0 = crc, c1 = 0, c2 = 0;
    for (const uint8_t* end = p + stream; p < end; p += 8) {
      c0 = _mm_crc32_u64(c0, Load64(p));
      c1 = _mm_crc32_u64(c1, Load64(p + stream));
      c2 = _mm_crc32_u64(c2, Load64(p + 2 * stream));
    }
    crc = shift.Shift(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
    crc = shift.Shift(crc) ^ static_cast<uint32_t>(c2);
    p += 2 * stream;
    n -= 3 * stream;
  }
  return crc;
}

}  // namespace

uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n) {
  const auto& t = kTables.t;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;  // little-endian hosts only (x86-64)
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return ~c;
}

__attribute__((target("sse4.2"))) uint32_t ExtendSse42(uint32_t crc, const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  // Aligning the streams keeps their 8-byte loads from straddling cache lines.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
  c = ThreeStreams(c, p, n, kLongStream, kLongShift);
  c = ThreeStreams(c, p, n, kShortStream, kShortShift);
  uint64_t c64 = c;
  for (; n >= 8; p += 8, n -= 8) c64 = _mm_crc32_u64(c64, Load64(p));
  c = static_cast<uint32_t>(c64);
  for (; n > 0; --n) c = _mm_crc32_u8(c, *p++);
  return ~c;
}

bool HasSse42() {
  // __builtin_cpu_init makes this safe to call from static initialisers in other files.
  static const bool has = (__builtin_cpu_init(), __builtin_cpu_supports("sse4.2"));
  return has;
}

}  // namespace crc32c_internal

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n) {
  // Resolved once, so a call costs one predictable branch and an indirect jump; that matters
  // for the small batches that dominate some workloads.
  static const auto extend =
      crc32c_internal::HasSse42() ? crc32c_internal::ExtendSse42 : crc32c_internal::ExtendPortable;
  return extend(crc, data, n);
}

}  // namespace varve
