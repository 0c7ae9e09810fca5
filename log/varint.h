#pragma once

// Variable-length integers of the record format (reference §1.2): zig-zag then LEB128, seven
// bits per byte, least significant group first, high bit = "more bytes follow". A varint
// (int32) takes at most 5 bytes, a varlong (int64) at most 10. Also the protocol's unsigned
// varint (reference §3.3), which is LEB128 without zig-zag.
//
// Example:
//   char buf[kMaxVarlongBytes];
//   char* end = PutVarlong(buf, -1);           // writes 0x01
//   int64_t v;
//   const char* next = GetVarlong(buf, end, &v);  // v == -1, next == end
//
// Decoders never read at or past `limit`; they return nullptr when the input ends inside the
// value or the value is longer than its maximum width (Kafka's "varint is too long").

#include <cstdint>

namespace varve {

inline constexpr int kMaxVarintBytes = 5;
inline constexpr int kMaxVarlongBytes = 10;

inline constexpr uint32_t ZigZagEncode32(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
inline constexpr uint64_t ZigZagEncode64(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline constexpr int32_t ZigZagDecode32(uint32_t u) {
  return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
}
inline constexpr int64_t ZigZagDecode64(uint64_t u) {
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

// Number of bytes the LEB128 encoding of `u` takes.
inline constexpr int UnsignedVarSize(uint64_t u) {
  int n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}
inline constexpr int VarintSize(int32_t v) { return UnsignedVarSize(ZigZagEncode32(v)); }
inline constexpr int VarlongSize(int64_t v) { return UnsignedVarSize(ZigZagEncode64(v)); }

// Writes the LEB128 encoding of `u` at `dst` and returns the end. `dst` needs room for
// UnsignedVarSize(u) bytes.
inline char* PutUnsignedVar(char* dst, uint64_t u) {
  while (u >= 0x80) {
    *dst++ = static_cast<char>(u | 0x80);
    u >>= 7;
  }
  *dst++ = static_cast<char>(u);
  return dst;
}
inline char* PutVarint(char* dst, int32_t v) { return PutUnsignedVar(dst, ZigZagEncode32(v)); }
inline char* PutVarlong(char* dst, int64_t v) { return PutUnsignedVar(dst, ZigZagEncode64(v)); }
inline char* PutUvarint(char* dst, uint32_t v) { return PutUnsignedVar(dst, v); }

namespace varint_internal {

// Reads at most `max_bytes` LEB128 bytes; bits beyond 64 are dropped (as Kafka does for the
// last permitted byte).
inline const char* GetUnsigned(const char* p, const char* limit, int max_bytes, uint64_t* out) {
  uint64_t result = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (p >= limit) return nullptr;
    uint64_t byte = static_cast<uint8_t>(*p++);
    result |= (byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      *out = result;
      return p;
    }
  }
  return nullptr;  // too long
}

}  // namespace varint_internal

inline const char* GetVarint(const char* p, const char* limit, int32_t* v) {
  uint64_t u;
  p = varint_internal::GetUnsigned(p, limit, kMaxVarintBytes, &u);
  if (p != nullptr) *v = ZigZagDecode32(static_cast<uint32_t>(u));
  return p;
}
inline const char* GetVarlong(const char* p, const char* limit, int64_t* v) {
  uint64_t u;
  p = varint_internal::GetUnsigned(p, limit, kMaxVarlongBytes, &u);
  if (p != nullptr) *v = ZigZagDecode64(u);
  return p;
}
inline const char* GetUvarint(const char* p, const char* limit, uint32_t* v) {
  uint64_t u;
  p = varint_internal::GetUnsigned(p, limit, kMaxVarintBytes, &u);
  if (p != nullptr) *v = static_cast<uint32_t>(u);
  return p;
}

}  // namespace varve
