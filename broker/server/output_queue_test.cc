#include "broker/server/output_queue.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "base/endian.h"
#include "base/temp_dir.h"
#include "gtest/gtest.h"

namespace varve::server {
namespace {

using Kind = OutputQueue::WriteResult::Kind;

std::string Pattern(size_t size, int seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 31 + seed) % 251);
  return out;
}

class OutputQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    writer_ = fds[0];
    reader_ = fds[1];
    ASSERT_EQ(::fcntl(writer_, F_SETFL, O_NONBLOCK), 0);
    file_ = ::open(dir_.Sub("segment").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(file_, 0);
    file_bytes_ = Pattern(6 << 20, 1);
    ASSERT_EQ(::pwrite(file_, file_bytes_.data(), file_bytes_.size(), 0),
              static_cast<ssize_t>(file_bytes_.size()));
  }
  void TearDown() override {
    if (writer_ >= 0) ::close(writer_);
    if (reader_ >= 0) ::close(reader_);
    ::close(file_);
  }

  // Reads whatever is available without blocking.
  std::string ReadAvailable() {
    std::string out;
    char buffer[65536];
    while (true) {
      ssize_t n = ::recv(reader_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n <= 0) return out;
      out.append(buffer, static_cast<size_t>(n));
    }
  }

  // Writes everything, draining the reader whenever the socket is full.
  std::string WriteAll(OutputQueue* queue, int64_t budget) {
    std::string received;
    while (!queue->empty()) {
      OutputQueue::WriteResult result = queue->WriteTo(writer_, budget);
      EXPECT_NE(result.kind, Kind::kError) << result.error;
      if (result.kind == Kind::kError) break;
      if (result.kind == Kind::kBlocked) ++blocked_;
      received += ReadAvailable();
    }
    received += ReadAvailable();
    return received;
  }

  static std::string Prefix(uint32_t size) {
    std::string out(4, '\0');
    StoreBE32(out.data(), size);
    return out;
  }

  TempDir dir_;
  int writer_ = -1;
  int reader_ = -1;
  int file_ = -1;
  std::string file_bytes_;
  int blocked_ = 0;
};

TEST_F(OutputQueueTest, FrameGetsItsSizePrefix) {
  OutputQueue queue;
  queue.PushFrame(ResponsePayload("hello"));
  EXPECT_EQ(queue.bytes(), 9);
  OutputQueue::WriteResult result = queue.WriteTo(writer_, 1 << 20);
  EXPECT_EQ(result.kind, Kind::kDrained);
  EXPECT_EQ(result.bytes_written, 9);
  EXPECT_EQ(ReadAvailable(), Prefix(5) + "hello");
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0);
}

TEST_F(OutputQueueTest, EmptyPayloadIsAFourByteFrame) {
  OutputQueue queue;
  queue.PushFrame(ResponsePayload());
  EXPECT_EQ(queue.WriteTo(writer_, 1 << 20).kind, Kind::kDrained);
  EXPECT_EQ(ReadAvailable(), Prefix(0));
}

TEST_F(OutputQueueTest, BytesAndFileRegionsInOrderThroughPartialWrites) {
  int small = 16 << 10;
  ::setsockopt(writer_, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  OutputQueue queue;
  std::string expected;
  for (int frame = 0; frame < 3; ++frame) {
    ResponsePayload payload(Pattern(1000 + frame, frame));
    payload.AddFile({.fd = file_, .offset = 12345, .size = 3 << 20});
    payload.AddBytes(Pattern(70000, frame + 10));
    payload.AddFile({.fd = file_, .offset = 0, .size = 777});
    payload.AddBytes("!");
    expected += Prefix(static_cast<uint32_t>(payload.size()));
    expected += Pattern(1000 + frame, frame) + file_bytes_.substr(12345, 3 << 20) +
                Pattern(70000, frame + 10) + file_bytes_.substr(0, 777) + "!";
    queue.PushFrame(std::move(payload));
  }
  std::string received = WriteAll(&queue, 1 << 30);
  EXPECT_GT(blocked_, 0);  // the small buffer forced partial writes
  ASSERT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected);
}

TEST_F(OutputQueueTest, BudgetStopsEarlyAndResumes) {
  OutputQueue queue;
  queue.PushFrame(ResponsePayload(Pattern(10000, 3)));
  OutputQueue::WriteResult first = queue.WriteTo(writer_, 100);
  EXPECT_EQ(first.kind, Kind::kBudgetExhausted);
  EXPECT_EQ(first.bytes_written, 100);
  EXPECT_EQ(queue.bytes(), 10004 - 100);
  std::string received = ReadAvailable() + WriteAll(&queue, 1000);
  EXPECT_TRUE(received == Prefix(10000) + Pattern(10000, 3));
}

TEST_F(OutputQueueTest, ManySmallChunksBeyondOneIovecBatch) {
  OutputQueue queue;
  std::string expected;
  for (int i = 0; i < 300; ++i) {
    ResponsePayload payload;
    payload.AddBytes(std::string(600, static_cast<char>('a' + i % 26)));
    payload.AddFile({.fd = file_, .offset = i, .size = 1});
    expected += Prefix(601) + std::string(600, static_cast<char>('a' + i % 26)) + file_bytes_[i];
    queue.PushFrame(std::move(payload));
  }
  EXPECT_TRUE(WriteAll(&queue, 1 << 30) == expected);
}

TEST_F(OutputQueueTest, FileRegionPastEndOfFileIsAnError) {
  OutputQueue queue;
  ResponsePayload payload;
  payload.AddFile(
      {.fd = file_, .offset = static_cast<int64_t>(file_bytes_.size()) - 10, .size = 20});
  queue.PushFrame(std::move(payload));
  OutputQueue::WriteResult result = queue.WriteTo(writer_, 1 << 20);
  EXPECT_EQ(result.kind, Kind::kError);
  EXPECT_NE(result.error.find("ends at"), std::string::npos) << result.error;
}

TEST_F(OutputQueueTest, ClosedPeerIsAnErrorNotASignal) {
  ::close(reader_);
  reader_ = -1;
  OutputQueue queue;
  queue.PushFrame(ResponsePayload("bytes"));
  OutputQueue::WriteResult result = queue.WriteTo(writer_, 1 << 20);
  EXPECT_EQ(result.kind, Kind::kError);
  EXPECT_EQ(result.error_number, EPIPE);
}

TEST_F(OutputQueueTest, ClearReleasesPins) {
  auto pin = std::make_shared<int>(7);
  std::weak_ptr<int> weak = pin;
  OutputQueue queue;
  ResponsePayload payload;
  payload.AddFile({.fd = file_, .offset = 0, .size = 10, .pin = std::move(pin)});
  queue.PushFrame(std::move(payload));
  EXPECT_FALSE(weak.expired());
  queue.Clear();
  EXPECT_TRUE(weak.expired());
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0);
}

TEST_F(OutputQueueTest, WrittenFileChunkReleasesItsPin) {
  auto pin = std::make_shared<int>(7);
  std::weak_ptr<int> weak = pin;
  OutputQueue queue;
  ResponsePayload payload;
  payload.AddFile({.fd = file_, .offset = 0, .size = 10, .pin = std::move(pin)});
  queue.PushFrame(std::move(payload));
  EXPECT_EQ(queue.WriteTo(writer_, 1 << 20).kind, Kind::kDrained);
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace varve::server
