#include "broker/server/response.h"

#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace varve::server {
namespace {

// Strings up to this size are appended to a preceding bytes chunk instead of becoming a chunk.
constexpr size_t kMergeBelowBytes = 512;

}  // namespace

void ResponsePayload::AddBytes(std::string bytes) {
  if (bytes.empty()) return;
  size_ += static_cast<int64_t>(bytes.size());
  if (!chunks_.empty() && bytes.size() < kMergeBelowBytes) {
    if (auto* last = std::get_if<std::string>(&chunks_.back())) {
      last->append(bytes);
      return;
    }
  }
  chunks_.emplace_back(std::move(bytes));
}

void ResponsePayload::AddFile(FileChunk chunk) {
  assert(chunk.offset >= 0 && chunk.size >= 0);
  if (chunk.size <= 0) return;
  size_ += chunk.size;
  chunks_.emplace_back(std::move(chunk));
}

std::vector<PayloadChunk> ResponsePayload::TakeChunks() {
  size_ = 0;
  return std::exchange(chunks_, {});
}

absl::StatusOr<std::string> ResponsePayload::Flatten() const {
  std::string out;
  out.reserve(static_cast<size_t>(size_));
  for (const PayloadChunk& chunk : chunks_) {
    if (const auto* bytes = std::get_if<std::string>(&chunk)) {
      out += *bytes;
      continue;
    }
    const FileChunk& file = std::get<FileChunk>(chunk);
    size_t start = out.size();
    out.resize(start + static_cast<size_t>(file.size));
    int64_t done = 0;
    while (done < file.size) {
      ssize_t n = ::pread(file.fd, out.data() + start + done, static_cast<size_t>(file.size - done),
                          file.offset + done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("pread fd ", file.fd));
      if (n == 0) {
        return absl::DataLossError(absl::StrCat("fd ", file.fd, " ends at ", file.offset + done,
                                                ", inside the region [", file.offset, ", ",
                                                file.offset + file.size, ")"));
      }
      done += n;
    }
  }
  return out;
}

}  // namespace varve::server
