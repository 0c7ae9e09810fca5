#include "broker/server/output_queue.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/endian.h"

namespace varve::server {
namespace {

constexpr int kMaxIovecs = 64;
// sendfile(2) transfers at most this much per call anyway.
constexpr int64_t kMaxSendfileBytes = 0x7ffff000;

int64_t ChunkSize(const PayloadChunk& chunk) {
  if (const auto* bytes = std::get_if<std::string>(&chunk)) {
    return static_cast<int64_t>(bytes->size());
  }
  return std::get<FileChunk>(chunk).size;
}

}  // namespace

void OutputQueue::PushFrame(ResponsePayload payload) {
  assert(payload.size() <= INT32_MAX);
  std::string prefix(4, '\0');
  StoreBE32(prefix.data(), static_cast<uint32_t>(payload.size()));
  bytes_ += 4 + payload.size();
  chunks_.emplace_back(std::move(prefix));
  for (PayloadChunk& chunk : payload.TakeChunks()) chunks_.push_back(std::move(chunk));
}

OutputQueue::WriteResult OutputQueue::WriteTo(int fd, int64_t max_bytes) {
  WriteResult result;
  while (!chunks_.empty()) {
    int64_t budget = max_bytes - result.bytes_written;
    if (budget <= 0) {
      result.kind = WriteResult::Kind::kBudgetExhausted;
      return result;
    }
    int64_t n = std::holds_alternative<std::string>(chunks_.front())
                    ? WriteBytes(fd, budget, &result)
                    : WriteFile(fd, budget, &result);
    if (n < 0) {
      result.kind = WriteResult::Kind::kError;
      return result;
    }
    if (n == 0) {
      result.kind = WriteResult::Kind::kBlocked;
      return result;
    }
    result.bytes_written += n;
    Consume(n);
  }
  result.kind = WriteResult::Kind::kDrained;
  return result;
}

int64_t OutputQueue::WriteBytes(int fd, int64_t max_bytes, WriteResult* result) {
  iovec iov[kMaxIovecs];
  int count = 0;
  int64_t total = 0;
  int64_t skip = head_offset_;
  for (const PayloadChunk& chunk : chunks_) {
    const auto* bytes = std::get_if<std::string>(&chunk);
    if (bytes == nullptr || count == kMaxIovecs || total >= max_bytes) break;
    int64_t len = std::min<int64_t>(static_cast<int64_t>(bytes->size()) - skip, max_bytes - total);
    iov[count].iov_base = const_cast<char*>(bytes->data()) + skip;
    iov[count].iov_len = static_cast<size_t>(len);
    ++count;
    total += len;
    skip = 0;
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<size_t>(count);
  while (true) {
    // sendmsg rather than writev: MSG_NOSIGNAL turns a closed peer into EPIPE, not SIGPIPE.
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    result->error_number = errno;
    result->error = absl::StrCat("sendmsg: ", std::strerror(errno));
    return -1;
  }
}

int64_t OutputQueue::WriteFile(int fd, int64_t max_bytes, WriteResult* result) {
  const FileChunk& file = std::get<FileChunk>(chunks_.front());
  off_t offset = file.offset + head_offset_;
  int64_t count = std::min({file.size - head_offset_, max_bytes, kMaxSendfileBytes});
  while (true) {
    // The socket's loop thread blocks SIGPIPE (event_loop.cc), which covers sendfile's EPIPE.
    ssize_t n = ::sendfile(fd, file.fd, &offset, static_cast<size_t>(count));
    if (n > 0) return n;
    if (n == 0) {
      // The region runs past the end of the file: sending less than the frame's declared size
      // would desynchronise the client, so the connection must go.
      result->error =
          absl::StrCat("sendfile: fd ", file.fd, " ends at ", offset, ", inside the region [",
                       file.offset, ", ", file.offset + file.size, ")");
      return -1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    result->error_number = errno;
    result->error = absl::StrCat("sendfile fd ", file.fd, ": ", std::strerror(errno));
    return -1;
  }
}

void OutputQueue::Consume(int64_t n) {
  bytes_ -= n;
  while (n > 0) {
    int64_t left = ChunkSize(chunks_.front()) - head_offset_;
    if (n < left) {
      head_offset_ += n;
      return;
    }
    n -= left;
    chunks_.pop_front();
    head_offset_ = 0;
  }
}

void OutputQueue::Clear() {
  chunks_.clear();
  head_offset_ = 0;
  bytes_ = 0;
}

}  // namespace varve::server
