#pragma once

// OutputQueue: the response frames waiting to be written to one socket, in order, as chunks of
// bytes and file regions. Bytes go out with sendmsg(2) (gathering up to 64 chunks per call, with
// MSG_NOSIGNAL), file regions with sendfile(2). Partial writes and EAGAIN leave the queue
// positioned mid-chunk for the next call.
//
// Threading: not thread-safe; one connection uses it on its loop thread.

#include <cstdint>
#include <deque>
#include <string>

#include "broker/server/response.h"

namespace varve::server {

class OutputQueue {
 public:
  // Queues one frame: the 4-byte big-endian size, then the payload's chunks.
  // Requires payload.size() <= INT32_MAX.
  void PushFrame(ResponsePayload payload);

  struct WriteResult {
    enum class Kind {
      kDrained,          // everything queued was written
      kBlocked,          // the socket buffer is full (EAGAIN); wait for EPOLLOUT
      kBudgetExhausted,  // wrote max_bytes, more is queued and the socket may take it
      kError,            // the connection is unusable; see error
    };
    Kind kind = Kind::kDrained;
    int64_t bytes_written = 0;
    int error_number = 0;
    std::string error;
  };
  // Writes to the non-blocking socket `fd` until the queue drains, the socket would block, an
  // error occurs, or about `max_bytes` were written.
  WriteResult WriteTo(int fd, int64_t max_bytes);

  // Bytes queued and not yet written (memory and file regions).
  int64_t bytes() const { return bytes_; }
  bool empty() const { return chunks_.empty(); }
  // Drops everything queued (releasing file pins).
  void Clear();

 private:
  // Writes the run of byte chunks at the head; returns bytes written, 0 on EAGAIN, -1 on error.
  int64_t WriteBytes(int fd, int64_t max_bytes, WriteResult* result);
  // Writes from the file chunk at the head; same return convention.
  int64_t WriteFile(int fd, int64_t max_bytes, WriteResult* result);
  void Consume(int64_t n);

  std::deque<PayloadChunk> chunks_;
  int64_t head_offset_ = 0;  // bytes of chunks_.front() already written
  int64_t bytes_ = 0;
};

}  // namespace varve::server
