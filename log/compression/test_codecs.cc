#include "log/compression/test_codecs.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>

#include "base/endian.h"

namespace varve {
namespace {

// The helpers are for tests: a failure is a broken test, so abort (asserts may be compiled out).
void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

std::string GzipForTest(absl::string_view data) {
  z_stream zs{};
  int rc = deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  Check(rc == Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  rc = deflate(&zs, Z_FINISH);
  Check(rc == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string SnappyRawForTest(absl::string_view data) {
  std::string out;
  snappy::Compress(data.data(), data.size(), &out);
  return out;
}

std::string SnappyXerialForTest(absl::string_view data, size_t block_size) {
  std::string out("\x82SNAPPY\0", 8);
  char ints[8];
  StoreBE32(ints, 1);      // version
  StoreBE32(ints + 4, 1);  // compatible version
  out.append(ints, sizeof ints);
  for (size_t at = 0; at < data.size(); at += block_size) {
    const std::string block = SnappyRawForTest(data.substr(at, block_size));
    char length[4];
    StoreBE32(length, static_cast<uint32_t>(block.size()));
    out.append(length, sizeof length);
    out += block;
  }
  return out;
}

std::string Lz4FrameForTest(absl::string_view data) {
  std::string out(LZ4F_compressFrameBound(data.size(), nullptr), '\0');
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), nullptr);
  Check(!LZ4F_isError(n));
  out.resize(n);
  return out;
}

std::string ZstdForTest(absl::string_view data, bool content_size) {
  std::string out(ZSTD_compressBound(data.size()) + 64, '\0');
  if (content_size) {
    const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
    Check(!ZSTD_isError(n));
    out.resize(n);
    return out;
  }
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 0);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  size_t left;
  do {
    left = ZSTD_compressStream2(ctx, &o, &in, ZSTD_e_end);
    Check(!ZSTD_isError(left));
  } while (left != 0);
  ZSTD_freeCCtx(ctx);
  out.resize(o.pos);
  return out;
}

std::string CompressForTest(Compression codec, absl::string_view data) {
  switch (codec) {
    case Compression::kNone:
      return std::string(data);
    case Compression::kGzip:
      return GzipForTest(data);
    case Compression::kSnappy:
      return SnappyXerialForTest(data);
    case Compression::kLz4:
      return Lz4FrameForTest(data);
    case Compression::kZstd:
      return ZstdForTest(data);
  }
  std::abort();
}

std::string CompressBatchForTest(absl::string_view batch, Compression codec) {
  Check(batch.size() >= static_cast<size_t>(kBatchHeaderSize));
  return BatchWithPayloadForTest(batch, codec,
                                 CompressForTest(codec, batch.substr(kBatchHeaderSize)));
}

std::string BatchWithPayloadForTest(absl::string_view batch, Compression codec,
                                    absl::string_view payload) {
  Check(batch.size() >= static_cast<size_t>(kBatchHeaderSize));
  std::string out(batch.substr(0, kBatchHeaderSize));
  out.append(payload.data(), payload.size());
  StoreBE32(out.data() + kBatchLengthPos, static_cast<uint32_t>(out.size() - kLogOverhead));
  const uint16_t attributes = LoadBE16(out.data() + kAttributesPos);
  StoreBE16(out.data() + kAttributesPos,
            static_cast<uint16_t>((attributes & ~kCompressionMask) | static_cast<int>(codec)));
  StoreBE32(out.data() + kCrcPos, ComputeBatchCrc(out));
  return out;
}

}  // namespace varve
