#pragma once

// Decompression of RecordBatch v2 payloads (reference §1.1): the bytes after a compressed
// batch's 61-byte header are one stream holding all its records back to back. The codecs, as
// Kafka's clients write them:
//
//   gzip    an RFC 1952 stream (zlib, inflateInit2 with 16 + MAX_WBITS); concatenated members
//           are accepted, as Java's GZIPInputStream accepts them.
//   snappy  raw snappy (librdkafka), or xerial snappy-java framing (the Java client):
//             8 bytes  magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
//             4 + 4    i32 version, i32 compatible version (big-endian; not checked)
//             then blocks of  i32 length (big-endian) + `length` bytes of raw snappy
//   lz4     the LZ4 frame format (LZ4F); concatenated frames are accepted.
//   zstd    zstd frames, decoded as a stream: producers' frames may not record their size.
//
// Example:
//   std::string records;
//   absl::Status s = Decompress(header.compression(), payload, DecompressLimits(), &records);
//   if (absl::IsResourceExhausted(s)) ...;  // a zip bomb, or a batch larger than the limits
//   RecordIterator it(header, records);
//
// Every input is untrusted: nothing is read outside `input`, and the output never grows past
// DecompressLimits::LimitFor(input.size()) bytes, so a hostile payload cannot exhaust memory.
// Stateless and thread-safe.
//
// Users: varve-dump (records of compressed batches) and, through LogOptions::decompress
// (log/log.h), the broker, whose ListOffsets by time is then exact inside compressed batches.
// The engine itself (//log) links no codec.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "log/record_batch.h"

namespace varve {

// How large a decompressed payload may be: max_ratio times the compressed size, but at least
// min_bytes (small batches of repetitive records legitimately compress better than any ratio)
// and at most max_bytes.
struct DecompressLimits {
  int64_t max_ratio = 64;
  int64_t min_bytes = int64_t{1} << 20;    // 1 MiB, Kafka's default max.message.bytes
  int64_t max_bytes = int64_t{256} << 20;  // 256 MiB

  // The limit for an input of `input_size` bytes.
  int64_t LimitFor(size_t input_size) const;
};

// Replaces *out with `input` decompressed with `codec` (kNone copies it). Errors:
//   DataLoss          malformed or truncated input, trailing garbage; the message names the
//                     codec and what failed, e.g. "zstd: Unknown frame descriptor";
//   ResourceExhausted the output would exceed limits.LimitFor(input.size()) bytes;
//   InvalidArgument   a codec id outside 0-4.
// On error *out holds unspecified bytes.
absl::Status Decompress(Compression codec, absl::string_view input, const DecompressLimits& limits,
                        std::string* out);

// True if `input` starts with the xerial snappy-java magic (then Decompress reads the framing).
bool HasXerialSnappyMagic(absl::string_view input);

}  // namespace varve
