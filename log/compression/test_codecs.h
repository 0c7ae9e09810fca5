#pragma once

// Compressors for tests: they produce the payloads Kafka's clients produce, so decompression
// (log/compression/decompress.h), the engine's handling of compressed batches and the dump tool
// can be tested with every codec and framing. Not for production use: they abort instead of
// returning errors.
//
// Example:
//   std::string records = ...;  // encoded records, as after a batch's 61-byte header
//   std::string payload = CompressForTest(Compression::kZstd, records);
//   std::string batch = CompressBatchForTest(builder.Build(), Compression::kLz4);  // BatchBuilder

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "log/record_batch.h"

namespace varve {

// One gzip member (deflate, level 6).
std::string GzipForTest(absl::string_view data);
// Raw snappy, as librdkafka writes it.
std::string SnappyRawForTest(absl::string_view data);
// xerial snappy-java framing, as the Java client writes it: magic, version 1, compatible
// version 1, then blocks of at most `block_size` input bytes.
std::string SnappyXerialForTest(absl::string_view data, size_t block_size = 32 * 1024);
// One LZ4 frame.
std::string Lz4FrameForTest(absl::string_view data);
// One zstd frame; without `content_size` it is written by the streaming API and does not
// record its decompressed size (as the Java client's frames do not).
std::string ZstdForTest(absl::string_view data, bool content_size = false);

// Dispatch: kNone copies; kSnappy is xerial (the Java client's framing).
std::string CompressForTest(Compression codec, absl::string_view data);

// Re-encodes the records of one whole uncompressed batch as one stream compressed with `codec`
// (CompressForTest), as a producer sends it: sets the codec bits and BatchLength and recomputes
// the CRC. Every other field is kept.
std::string CompressBatchForTest(absl::string_view batch, Compression codec);
// The same with `payload` as the records section, whatever it holds (raw snappy, garbage, a
// stream of the wrong records): for tests of what readers do with such batches.
std::string BatchWithPayloadForTest(absl::string_view batch, Compression codec,
                                    absl::string_view payload);

}  // namespace varve
