#pragma once

// ResponsePayload: the bytes of one response frame, as an ordered list of chunks that are either
// in memory (std::string) or a region of a file sent with sendfile(2) (FileChunk). A Fetch
// response is typically: header and partition metadata as bytes, then the record batches as
// FileChunks straight from the segment files, interleaved with more bytes.
//
// The payload excludes the 4-byte size prefix: the server writes it (size() must be < 2 GiB).
//
// Example:
//   ResponsePayload payload;
//   payload.AddBytes(EncodeHeaderAndTopics(...));
//   payload.AddFile({.fd = segment_fd, .offset = pos, .size = len, .pin = segment_handle});
//   payload.AddBytes(EncodeTrailingFields(...));
//   slot.Send(std::move(payload));
//
// Threading: a payload is a plain value; build it on any thread and hand it over by moving.

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace varve::server {

// A region of an open file, written to the socket with sendfile(2) without a user-space copy.
// `fd` must stay open and [offset, offset + size) readable until the chunk is written or
// dropped; `pin` is held until then, so make it whatever keeps `fd` open (the segment handle).
// The pin is released on the connection's loop thread, or on the thread that drops the
// response when the connection is already gone. If the file turns out shorter than the region
// (truncated underneath), the connection is closed: a short frame would desynchronise the client.
struct FileChunk {
  int fd = -1;
  int64_t offset = 0;
  int64_t size = 0;
  std::shared_ptr<const void> pin;
};

using PayloadChunk = std::variant<std::string, FileChunk>;

class ResponsePayload {
 public:
  ResponsePayload() = default;
  explicit ResponsePayload(std::string bytes) { AddBytes(std::move(bytes)); }

  // Appends bytes. Empty strings are ignored; small strings are merged into a preceding bytes
  // chunk so a response built from many small pieces does not become many iovecs.
  void AddBytes(std::string bytes);
  // Appends a file region. Regions of size 0 are ignored; offset and size must be >= 0.
  void AddFile(FileChunk chunk);

  // Total bytes (memory and file regions), excluding the size prefix.
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const std::vector<PayloadChunk>& chunks() const { return chunks_; }
  // Moves the chunks out, leaving the payload empty.
  std::vector<PayloadChunk> TakeChunks();

  // The payload as one string, file regions read with pread(2). For tests and tools, not for the
  // serving path. DataLoss if a file region is shorter than declared, the errno status otherwise.
  absl::StatusOr<std::string> Flatten() const;

 private:
  std::vector<PayloadChunk> chunks_;
  int64_t size_ = 0;
};

}  // namespace varve::server
