#pragma once

// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final XOR
// 0xFFFFFFFF. The checksum of RecordBatch v2 (reference §1.1) and the same CRC as iSCSI and the
// SSE4.2 `crc32` instruction. Check value: Crc32c("123456789") == 0xE3069283.
//
// Example:
//   uint32_t crc = Crc32c(batch + 21, batch_size - 21);
//   crc = Crc32cExtend(Crc32c(a, n), b, m);  // == Crc32c(a ++ b)
//
// Thread-safe; no allocation. Uses the SSE4.2 instruction when the CPU has it (checked once, on
// first use; over 20 GB/s on large buffers) and a portable table implementation otherwise
// (about 2 GB/s).

#include <cstddef>
#include <cstdint>

namespace varve {

// Returns the CRC of data[0, n) continued from a previous result `crc` (0 for a fresh start).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }

namespace crc32c_internal {

// Both implementations, exposed so tests can check they agree and benchmarks can compare them.
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n);
uint32_t ExtendSse42(uint32_t crc, const void* data, size_t n);  // requires HasSse42()
bool HasSse42();

}  // namespace crc32c_internal
}  // namespace varve
