#pragma once

// FrameReader: splits the byte stream of one Kafka connection into frames.
//
// Wire format (reference.md §3.1):
//   +----------------------+---------------------------------------------+
//   | i32 size, big-endian | `size` bytes: request header, then the body |
//   +----------------------+---------------------------------------------+
// A size below 0 or above the limit (socket.request.max.bytes) is a protocol violation: the
// reader reports it and the caller closes the connection. This is also what a TLS ClientHello
// sent to a plaintext port looks like (0x16030100 = ~369 MB). A size of 0..7 bytes (shorter than
// the smallest request header) is a well-formed frame; the handler decides what to do with it.
//
// Memory: the buffer holds what was appended and not yet taken, and grows as bytes arrive, never
// from the declared size alone; so a peer announcing 100 MiB and sending nothing costs nothing.
//
// Threading: not thread-safe; one connection uses it on its loop thread.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace varve::server {

class FrameReader {
 public:
  explicit FrameReader(int64_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Buffers bytes received from the peer.
  void Append(absl::string_view bytes);

  enum class Result {
    kFrame,     // *frame holds the next frame (without its size prefix)
    kNeedMore,  // no complete frame buffered yet
    kBadSize,   // the next size prefix is out of range; see bad_size(). Sticky.
  };
  Result Next(std::string* frame);

  // The offending size after kBadSize.
  int64_t bad_size() const { return bad_size_; }
  // Bytes appended and not yet returned in a frame.
  size_t buffered_bytes() const { return buffer_.size() - consumed_; }
  // Drops everything buffered and releases the memory.
  void Clear();

 private:
  const int64_t max_frame_bytes_;
  std::string buffer_;
  size_t consumed_ = 0;  // bytes at the front of buffer_ already returned
  int64_t bad_size_ = 0;
  bool bad_ = false;
};

}  // namespace varve::server
