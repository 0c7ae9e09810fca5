#pragma once

// A blocking TCP client for the server tests: connect to 127.0.0.1, send frames (or raw
// bytes), read frames. Every wait is bounded (30 s by default) so a bug fails a test instead of
// hanging it.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace varve::server {

class TestClient {
 public:
  static absl::StatusOr<TestClient> Connect(int port);
  TestClient(TestClient&& other) noexcept;
  TestClient& operator=(TestClient&& other) noexcept;
  ~TestClient();

  // Writes the 4-byte big-endian size, then `body`.
  absl::Status SendFrame(absl::string_view body);
  absl::Status SendRaw(absl::string_view bytes);
  // Reads one frame's body. Unavailable on EOF, DeadlineExceeded on timeout.
  absl::StatusOr<std::string> ReadFrame(absl::Duration timeout = absl::Seconds(30));
  // True if the server closes the connection (EOF or reset) within `timeout`, discarding any
  // bytes that arrive first.
  bool WaitForClose(absl::Duration timeout = absl::Seconds(30));
  // Shrinks the receive buffer (before the server has sent much), for slow-reader tests.
  void SetReceiveBuffer(int bytes);
  void Close();

  int fd() const { return fd_; }

 private:
  explicit TestClient(int fd) : fd_(fd) {}
  absl::Status ReadExactly(char* out, size_t n, absl::Time deadline);

  int fd_ = -1;
};

// `size` deterministic pseudo-random bytes derived from `seed`.
std::string PatternBytes(size_t size, uint64_t seed);

}  // namespace varve::server
