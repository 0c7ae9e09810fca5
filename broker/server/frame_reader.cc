#include "broker/server/frame_reader.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "base/endian.h"

namespace varve::server {

bool FrameReader::StartFrame() {
  int64_t size = static_cast<int32_t>(LoadBE32(header_));
  header_filled_ = 0;
  if (size < 0 || size > max_frame_bytes_) {
    bad_ = true;
    bad_size_ = size;
    return false;
  }
  in_frame_ = true;
  frame_size_ = static_cast<size_t>(size);
  frame_filled_ = 0;
  frame_.clear();
  frame_.resize(std::min(frame_size_, kEagerFrameBytes));
  FinishFrameIfComplete();  // a zero-size frame is complete at once
  return true;
}

void FrameReader::FinishFrameIfComplete() {
  if (!in_frame_ || frame_filled_ < frame_size_) return;
  in_frame_ = false;
  ready_bytes_ += frame_.size();
  ready_.push_back(std::move(frame_));
  frame_ = std::string();
}

void FrameReader::Append(absl::string_view bytes) {
  while (!bytes.empty() && !bad_) {
    if (!in_frame_) {
      size_t take = std::min(bytes.size(), kSizePrefixBytes - header_filled_);
      std::memcpy(header_ + header_filled_, bytes.data(), take);
      header_filled_ += take;
      bytes.remove_prefix(take);
      if (header_filled_ == kSizePrefixBytes && !StartFrame()) return;
      continue;
    }
    absl::Span<char> target = DirectTarget();
    size_t take = std::min(bytes.size(), target.size());
    std::memcpy(target.data(), bytes.data(), take);
    bytes.remove_prefix(take);
    CommitDirect(take);
  }
}

absl::Span<char> FrameReader::DirectTarget() {
  if (!in_frame_ || bad_) return {};
  if (frame_filled_ == frame_.size()) {
    // The allocated part is full and the frame is not: grow as the bytes arrive.
    frame_.resize(std::min(frame_size_, std::max(frame_.size() * 2, kEagerFrameBytes)));
  }
  return absl::MakeSpan(frame_.data() + frame_filled_, frame_.size() - frame_filled_);
}

void FrameReader::CommitDirect(size_t n) {
  assert(in_frame_ && frame_filled_ + n <= frame_.size());
  frame_filled_ += n;
  FinishFrameIfComplete();
}

FrameReader::Result FrameReader::Next(std::string* frame) {
  if (!ready_.empty()) {
    frame->swap(ready_.front());
    ready_.pop_front();
    ready_bytes_ -= frame->size();
    return Result::kFrame;
  }
  return bad_ ? Result::kBadSize : Result::kNeedMore;
}

size_t FrameReader::buffered_bytes() const {
  size_t bytes = ready_bytes_ + kSizePrefixBytes * ready_.size() + header_filled_;
  if (in_frame_) bytes += kSizePrefixBytes + frame_filled_;
  return bytes;
}

size_t FrameReader::allocated_bytes() const {
  return ready_bytes_ + (in_frame_ ? frame_.size() : 0);
}

void FrameReader::Clear() {
  header_filled_ = 0;
  in_frame_ = false;
  frame_size_ = frame_filled_ = 0;
  std::string().swap(frame_);
  ready_.clear();
  ready_bytes_ = 0;
}

}  // namespace varve::server
