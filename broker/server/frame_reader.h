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
// Copies: every frame gets its own buffer as soon as its size prefix has arrived, and the rest
// of its body can be read from the socket straight into that buffer (DirectTarget /
// CommitDirect), so a large request (a produce of ~1 MB) is copied once, by the kernel. Bytes
// that arrive through Append (the caller's shared scratch buffer: size prefixes, small
// requests, the first bytes of a large one) are copied once into their frame's buffer. Nothing
// refers to the caller's memory after a call returns.
//
// Memory: a frame's buffer is allocated from its declared size only up to kEagerFrameBytes;
// beyond that it grows (doubling) as its bytes arrive, so a peer that announces 100 MiB and
// sends nothing costs 1 MiB, not 100. Complete frames wait in the reader until Next() takes
// them; the caller stops reading while it cannot take them (back-pressure), so they are bounded
// by what one read delivered.
//
// Threading: not thread-safe; one connection uses it on its loop thread.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace varve::server {

class FrameReader {
 public:
  // A frame's buffer is allocated up to this size from the size prefix alone.
  static constexpr size_t kEagerFrameBytes = 1 << 20;

  explicit FrameReader(int64_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Takes bytes received from the peer (copied; `bytes` may be reused after the call).
  void Append(absl::string_view bytes);

  // Where the next bytes from the peer belong when they continue the body of a frame whose
  // size is known: the unfilled part of that frame's buffer (at most the rest of the frame).
  // Empty when no frame body is in progress; read into scratch and Append then. After reading n
  // bytes into it (n <= size), call CommitDirect(n) before any other call.
  absl::Span<char> DirectTarget();
  void CommitDirect(size_t n);

  enum class Result {
    kFrame,     // *frame holds the next frame (without its size prefix)
    kNeedMore,  // no complete frame buffered yet
    kBadSize,   // the next size prefix is out of range; see bad_size(). Sticky.
  };
  Result Next(std::string* frame);

  // The offending size after kBadSize.
  int64_t bad_size() const { return bad_size_; }
  // Bytes received and not yet returned in a frame (size prefixes included).
  size_t buffered_bytes() const;
  // Bytes of buffer memory held for frames not yet returned.
  size_t allocated_bytes() const;
  // Drops everything buffered and releases the memory.
  void Clear();

 private:
  static constexpr size_t kSizePrefixBytes = 4;

  // Starts the frame whose prefix is in header_; returns false for a bad size.
  bool StartFrame();
  void FinishFrameIfComplete();

  const int64_t max_frame_bytes_;
  char header_[kSizePrefixBytes] = {};
  size_t header_filled_ = 0;
  bool in_frame_ = false;
  size_t frame_size_ = 0;          // declared size of the frame in progress
  size_t frame_filled_ = 0;        // body bytes of it received so far
  std::string frame_;              // its buffer: frame_.size() bytes allocated, <= frame_size_
  std::deque<std::string> ready_;  // complete frames, oldest first
  size_t ready_bytes_ = 0;
  int64_t bad_size_ = 0;
  bool bad_ = false;  // a bad prefix follows the frames in ready_
};

}  // namespace varve::server
