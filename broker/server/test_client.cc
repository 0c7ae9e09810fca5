#include "broker/server/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/endian.h"

namespace varve::server {

absl::StatusOr<TestClient> TestClient::Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  while (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno == EINTR) continue;
    int error = errno;
    ::close(fd);
    return absl::ErrnoToStatus(error, absl::StrCat("connect 127.0.0.1:", port));
  }
  return TestClient(fd);
}

TestClient::TestClient(TestClient&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

TestClient& TestClient::operator=(TestClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

TestClient::~TestClient() { Close(); }

void TestClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void TestClient::SetReceiveBuffer(int bytes) {
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

absl::Status TestClient::SendFrame(absl::string_view body) {
  std::string frame(4, '\0');
  StoreBE32(frame.data(), static_cast<uint32_t>(body.size()));
  frame.append(body.data(), body.size());
  return SendRaw(frame);
}

absl::Status TestClient::SendRaw(absl::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "send");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status TestClient::ReadExactly(char* out, size_t n, absl::Time deadline) {
  size_t done = 0;
  while (done < n) {
    int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) return absl::DeadlineExceededError("timed out reading from the server");
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(wait_ms, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    ssize_t got = ::recv(fd_, out + done, n - done, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return absl::ErrnoToStatus(errno, "recv");
    if (got == 0) return absl::UnavailableError("server closed the connection");
    done += static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TestClient::ReadFrame(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  char prefix[4];
  absl::Status status = ReadExactly(prefix, 4, deadline);
  if (!status.ok()) return status;
  uint32_t size = LoadBE32(prefix);
  if (size > (1u << 30)) return absl::DataLossError(absl::StrCat("frame size ", size));
  std::string body(size, '\0');
  status = ReadExactly(body.data(), size, deadline);
  if (!status.ok()) return status;
  return body;
}

bool TestClient::WaitForClose(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  char buffer[65536];
  while (absl::Now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, 200);
    if (ready <= 0) continue;
    ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    if (got == 0) return true;
    if (got < 0 && errno != EINTR && errno != EAGAIN) return true;  // ECONNRESET
  }
  return false;
}

std::string PatternBytes(size_t size, uint64_t seed) {
  std::string out;
  out.resize(size);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

}  // namespace varve::server
