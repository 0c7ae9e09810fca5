#include "broker/server/frame_reader.h"

#include "base/endian.h"

namespace varve::server {
namespace {

constexpr size_t kSizePrefixBytes = 4;

}  // namespace

void FrameReader::Append(absl::string_view bytes) {
  // Compact before growing, so the buffer never holds more than one partial frame plus what the
  // caller appended since the last Next().
  if (consumed_ > 0 && (consumed_ == buffer_.size() || consumed_ >= buffer_.size() / 2)) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

FrameReader::Result FrameReader::Next(std::string* frame) {
  if (bad_) return Result::kBadSize;
  size_t available = buffer_.size() - consumed_;
  if (available < kSizePrefixBytes) return Result::kNeedMore;
  int64_t size = static_cast<int32_t>(LoadBE32(buffer_.data() + consumed_));
  if (size < 0 || size > max_frame_bytes_) {
    bad_ = true;
    bad_size_ = size;
    return Result::kBadSize;
  }
  if (available - kSizePrefixBytes < static_cast<size_t>(size)) return Result::kNeedMore;
  size_t frame_bytes = kSizePrefixBytes + static_cast<size_t>(size);
  if (consumed_ == 0 && buffer_.size() == frame_bytes) {
    // The buffer is exactly this frame (the common case for large requests): hand over the
    // allocation instead of copying it; dropping the prefix costs one memmove.
    buffer_.erase(0, kSizePrefixBytes);
    frame->swap(buffer_);
    buffer_.clear();
    return Result::kFrame;
  }
  frame->assign(buffer_.data() + consumed_ + kSizePrefixBytes, static_cast<size_t>(size));
  consumed_ += frame_bytes;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  return Result::kFrame;
}

void FrameReader::Clear() {
  std::string().swap(buffer_);
  consumed_ = 0;
}

}  // namespace varve::server
