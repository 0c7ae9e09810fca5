#include "log/compression/decompress.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/endian.h"

namespace varve {
namespace {

constexpr char kXerialMagic[] = {'\x82', 'S', 'N', 'A', 'P', 'P', 'Y', '\0'};
constexpr size_t kXerialHeaderSize = sizeof(kXerialMagic) + 8;  // + version + compatible version
constexpr size_t kMinGrowth = 64 * 1024;

absl::Status Malformed(const char* codec, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(codec, ": ", what));
}

// The decompressed bytes so far, in a buffer that never grows past limit + 1 bytes: one byte
// more than allowed is how an over-long output is noticed without decompressing all of it.
class BoundedOutput {
 public:
  BoundedOutput(std::string* out, int64_t limit, const char* codec, size_t input_size)
      : out_(out), limit_(limit), codec_(codec), input_size_(input_size) {
    out_->clear();
  }

  char* next() { return out_->data() + used_; }
  size_t room() const { return out_->size() - used_; }
  void Advance(size_t n) { used_ += n; }

  // Ensures room() >= `want` (at least 1), or fails once the limit is reached.
  absl::Status Reserve(size_t want = 1) {
    if (room() >= want) return absl::OkStatus();
    const size_t cap = static_cast<size_t>(limit_) + 1;
    if (used_ + want > cap || out_->size() >= cap) return Exhausted();
    const size_t grown = std::max({out_->size() * 2, used_ + want, kMinGrowth});
    out_->resize(std::min(grown, cap));
    return absl::OkStatus();
  }

  absl::Status Finish() {
    if (used_ > static_cast<size_t>(limit_)) return Exhausted();
    out_->resize(used_);
    return absl::OkStatus();
  }

  absl::Status Exhausted() const {
    return absl::ResourceExhaustedError(
        absl::StrCat(codec_, ": decompressed size exceeds the limit of ", limit_, " bytes for a ",
                     input_size_, "-byte payload"));
  }

 private:
  std::string* out_;
  const int64_t limit_;
  const char* codec_;
  const size_t input_size_;
  size_t used_ = 0;
};

absl::Status Gunzip(absl::string_view input, BoundedOutput* out) {
  if (input.size() > UINT_MAX) return Malformed("gzip", "payload too large for zlib");
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return absl::InternalError("gzip: inflateInit2 failed");
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> cleanup(&zs, inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  zs.avail_in = static_cast<uInt>(input.size());
  while (true) {
    if (absl::Status s = out->Reserve(); !s.ok()) return s;
    const uInt room = static_cast<uInt>(std::min<size_t>(out->room(), UINT_MAX));
    zs.next_out = reinterpret_cast<Bytef*>(out->next());
    zs.avail_out = room;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out->Advance(room - zs.avail_out);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) return absl::OkStatus();
      // Another member may follow (Java's GZIPInputStream reads them all).
      if (zs.avail_in < 2 || zs.next_in[0] != 0x1f || zs.next_in[1] != 0x8b) {
        return Malformed("gzip", absl::StrCat(zs.avail_in, " bytes after the end of the stream"));
      }
      if (inflateReset(&zs) != Z_OK) return absl::InternalError("gzip: inflateReset failed");
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;  // needs more room
    if (rc == Z_BUF_ERROR) return Malformed("gzip", "truncated stream");
    return Malformed("gzip", zs.msg != nullptr ? zs.msg : "corrupt stream");
  }
}

// One raw snappy block, appended to *out.
absl::Status UnsnappyBlock(absl::string_view block, BoundedOutput* out) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(block.data(), block.size(), &length)) {
    return Malformed("snappy", "bad length preamble");
  }
  if (length > 0) {
    if (absl::Status s = out->Reserve(length); !s.ok()) return s;
    if (!snappy::RawUncompress(block.data(), block.size(), out->next())) {
      return Malformed("snappy", "corrupt block");
    }
    out->Advance(length);
  } else if (!snappy::IsValidCompressedBuffer(block.data(), block.size())) {
    return Malformed("snappy", "corrupt block");
  }
  return absl::OkStatus();
}

absl::Status Unsnappy(absl::string_view input, BoundedOutput* out) {
  if (!HasXerialSnappyMagic(input)) return UnsnappyBlock(input, out);
  if (input.size() < kXerialHeaderSize) return Malformed("snappy", "truncated xerial header");
  size_t at = kXerialHeaderSize;
  while (at < input.size()) {
    if (input.size() - at < 4) {
      return Malformed("snappy", absl::StrCat("truncated xerial block length at byte ", at));
    }
    const uint32_t length = LoadBE32(input.data() + at);
    at += 4;
    if (length > input.size() - at) {
      return Malformed("snappy", absl::StrCat("xerial block of ", length, " bytes at byte ", at - 4,
                                              ", only ", input.size() - at, " left"));
    }
    if (absl::Status s = UnsnappyBlock(input.substr(at, length), out); !s.ok()) return s;
    at += length;
  }
  return absl::OkStatus();
}

absl::Status Unlz4(absl::string_view input, BoundedOutput* out) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return absl::InternalError("lz4: cannot create a decompression context");
  }
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> ctx(raw,
                                                                   LZ4F_freeDecompressionContext);
  const char* in = input.data();
  const char* const end = input.data() + input.size();
  while (true) {
    if (absl::Status s = out->Reserve(); !s.ok()) return s;
    size_t produced = out->room();
    size_t consumed = static_cast<size_t>(end - in);
    const size_t hint = LZ4F_decompress(ctx.get(), out->next(), &produced, in, &consumed, nullptr);
    if (LZ4F_isError(hint)) return Malformed("lz4", LZ4F_getErrorName(hint));
    out->Advance(produced);
    in += consumed;
    if (hint == 0) {  // a frame ended; another may follow
      if (in == end) return absl::OkStatus();
      continue;
    }
    if (in == end && produced == 0) return Malformed("lz4", "truncated frame");
    if (consumed == 0 && produced == 0) return Malformed("lz4", "no progress");
  }
}

absl::Status Unzstd(absl::string_view input, BoundedOutput* out) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (ctx == nullptr) return absl::InternalError("zstd: cannot create a decompression context");
  // A frame's window is memory the decoder allocates: keep zstd's default cap (128 MiB) explicit.
  ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, 27);
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  while (true) {
    if (absl::Status s = out->Reserve(); !s.ok()) return s;
    ZSTD_outBuffer o{out->next(), out->room(), 0};
    const size_t hint = ZSTD_decompressStream(ctx.get(), &o, &in);
    if (ZSTD_isError(hint)) return Malformed("zstd", ZSTD_getErrorName(hint));
    out->Advance(o.pos);
    if (hint == 0) {  // a frame ended; another may follow
      if (in.pos == in.size) return absl::OkStatus();
      continue;
    }
    // The decoder had input left to give or room to fill and stopped short: the input ended
    // inside a frame.
    if (in.pos == in.size && o.pos < o.size) return Malformed("zstd", "truncated frame");
  }
}

}  // namespace

int64_t DecompressLimits::LimitFor(size_t input_size) const {
  const int64_t size = static_cast<int64_t>(std::min<size_t>(input_size, INT64_MAX / 2));
  const int64_t by_ratio =
      max_ratio > 0 && size <= INT64_MAX / max_ratio ? size * max_ratio : INT64_MAX;
  return std::min(std::max(by_ratio, min_bytes), max_bytes);
}

bool HasXerialSnappyMagic(absl::string_view input) {
  return input.size() >= sizeof(kXerialMagic) &&
         input.substr(0, sizeof(kXerialMagic)) ==
             absl::string_view(kXerialMagic, sizeof(kXerialMagic));
}

absl::Status Decompress(Compression codec, absl::string_view input, const DecompressLimits& limits,
                        std::string* out) {
  const int64_t limit = std::max<int64_t>(limits.LimitFor(input.size()), 0);
  BoundedOutput output(out, limit, CompressionName(codec), input.size());
  absl::Status status;
  switch (codec) {
    case Compression::kNone:
      if (absl::Status s = output.Reserve(input.size()); !s.ok()) return s;
      std::copy(input.begin(), input.end(), output.next());
      output.Advance(input.size());
      break;
    case Compression::kGzip:
      status = Gunzip(input, &output);
      break;
    case Compression::kSnappy:
      status = Unsnappy(input, &output);
      break;
    case Compression::kLz4:
      status = Unlz4(input, &output);
      break;
    case Compression::kZstd:
      status = Unzstd(input, &output);
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown compression id ", static_cast<int>(codec)));
  }
  if (!status.ok()) return status;
  return output.Finish();
}

}  // namespace varve
