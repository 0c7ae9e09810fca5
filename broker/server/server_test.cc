// Behaviour of the Server over real sockets on 127.0.0.1: framing, ordering, limits, files.

#include "broker/server/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "base/temp_dir.h"
#include "broker/server/test_client.h"
#include "broker/server/test_handler.h"
#include "gtest/gtest.h"

namespace varve::server {
namespace {

std::unique_ptr<Server> StartServer(RequestHandler* handler, ServerOptions options = {}) {
  options.port = 0;
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, handler);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

TestClient Connect(const Server& server) {
  absl::StatusOr<TestClient> client = TestClient::Connect(server.port());
  EXPECT_TRUE(client.ok()) << client.status();
  return std::move(*client);
}

void Echo(Request request, ResponseSlot slot) {
  slot.Send(ResponsePayload(std::move(request.frame)));
}

TEST(ServerTest, EchoRoundTrip) {
  LambdaHandler handler;
  handler.on_request = Echo;
  auto server = StartServer(&handler);
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame("hello, broker").ok());
  absl::StatusOr<std::string> response = client.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "hello, broker");
}

TEST(ServerTest, RequestCarriesConnectionInfo) {
  LambdaHandler handler;
  std::mutex mu;
  ConnectionInfo seen;
  handler.on_request = [&](Request request, ResponseSlot slot) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen = request.connection;
    }
    EXPECT_GT(request.received_ns, 0);
    EXPECT_EQ(slot.connection_id(), request.connection.id);
    slot.Send(ResponsePayload("ok"));
  };
  auto server = StartServer(&handler);
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame("x").ok());
  ASSERT_TRUE(client.ReadFrame().ok());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_GT(seen.id, 0u);
  EXPECT_EQ(seen.listener_port, server->port());
  EXPECT_EQ(seen.peer.rfind("127.0.0.1:", 0), 0u) << seen.peer;
}

TEST(ServerTest, ZeroLengthFrameReachesTheHandler) {
  LambdaHandler handler;
  handler.on_request = [](Request request, ResponseSlot slot) {
    slot.Send(ResponsePayload(absl::StrCat("got ", request.frame.size())));
  };
  auto server = StartServer(&handler);
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame("").ok());
  absl::StatusOr<std::string> response = client.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "got 0");
}

TEST(ServerTest, EmptyResponseIsAZeroLengthFrame) {
  LambdaHandler handler;
  handler.on_request = [](Request, ResponseSlot slot) { slot.Send(ResponsePayload()); };
  auto server = StartServer(&handler);
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame("x").ok());
  absl::StatusOr<std::string> response = client.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "");
}

TEST(ServerTest, PipelinedRequestsCompletedOutOfOrderFromOtherThreadsArriveInOrder) {
  constexpr int kRequests = 40;
  ParkingLot lot;
  LambdaHandler handler;
  handler.on_request = [&](Request request, ResponseSlot slot) {
    lot.Park(std::move(request), std::move(slot));
  };
  auto server = StartServer(&handler);
  TestClient client = Connect(*server);
  for (int i = 0; i < kRequests; ++i) ASSERT_TRUE(client.SendFrame(absl::StrCat("r", i)).ok());
  ASSERT_EQ(lot.WaitForTotal(kRequests), kRequests);

  std::deque<ParkingLot::Parked> parked = lot.TakeAll();
  std::vector<ParkingLot::Parked> shuffled(std::make_move_iterator(parked.begin()),
                                           std::make_move_iterator(parked.end()));
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(42));
  // Every third request gets no response (like acks=0 produce); the rest echo.
  std::vector<std::thread> completers;
  for (int t = 0; t < 4; ++t) {
    completers.emplace_back([&, t] {
      for (size_t i = t; i < shuffled.size(); i += 4) {
        int index = std::stoi(shuffled[i].request.frame.substr(1));
        if (index % 3 == 0) {
          shuffled[i].slot.SendNothing();
        } else {
          shuffled[i].slot.Send(ResponsePayload(shuffled[i].request.frame));
        }
      }
    });
  }
  for (auto& thread : completers) thread.join();
  for (int i = 0; i < kRequests; ++i) {
    if (i % 3 == 0) continue;
    absl::StatusOr<std::string> response = client.ReadFrame();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(*response, absl::StrCat("r", i));
  }
  // Nothing else arrives: the skipped slots produced no frames.
  ASSERT_TRUE(client.SendFrame("r1000").ok());
  ASSERT_EQ(lot.WaitForTotal(kRequests + 1), kRequests + 1);
  lot.TakeAll().front().slot.Send(ResponsePayload("final"));
  absl::StatusOr<std::string> last = client.ReadFrame();
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, "final");
}

TEST(ServerTest, SendNothingDoesNotHoldUpLaterResponses) {
  LambdaHandler handler;
  handler.on_request = [](Request request, ResponseSlot slot) {
    if (request.frame == "acks=0") {
      slot.SendNothing();
    } else {
      slot.Send(ResponsePayload(request.frame));
    }
  };
  auto server = StartServer(&handler);
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame("acks=0").ok());
  ASSERT_TRUE(client.SendFrame("acks=0").ok());
  ASSERT_TRUE(client.SendFrame("metadata").ok());
  absl::StatusOr<std::string> response = client.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "metadata");
}

TEST(ServerTest, PartialFramesWrittenByteByByteAreReassembled) {
  LambdaHandler handler;
  handler.on_request = Echo;
  auto server = StartServer(&handler);
  TestClient client = Connect(*server);
  std::string stream;
  std::vector<std::string> bodies = {"first request", std::string(3000, 'z'), "third"};
  for (const auto& body : bodies) {
    char prefix[4] = {0, 0, static_cast<char>(body.size() >> 8), static_cast<char>(body.size())};
    stream.append(prefix, 4);
    stream += body;
  }
  for (char c : stream) ASSERT_TRUE(client.SendRaw(std::string(1, c)).ok());
  for (const auto& body : bodies) {
    absl::StatusOr<std::string> response = client.ReadFrame();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(*response, body);
  }
}

class OversizeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OversizeTest, ClosesOnlyTheOffendingConnection) {
  LambdaHandler handler;
  handler.on_request = Echo;
  ServerOptions options;
  options.max_request_bytes = 1024;
  auto server = StartServer(&handler, options);
  TestClient good = Connect(*server);
  TestClient bad = Connect(*server);
  ASSERT_TRUE(good.SendFrame("before").ok());
  ASSERT_TRUE(good.ReadFrame().ok());

  ASSERT_TRUE(bad.SendRaw(GetParam()).ok());
  EXPECT_TRUE(bad.WaitForClose());
  EXPECT_EQ(handler.WaitForDisconnects(1), 1);

  ASSERT_TRUE(good.SendFrame("after").ok());
  absl::StatusOr<std::string> response = good.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "after");
  EXPECT_EQ(server->stats().frames_rejected, 1u);
}

INSTANTIATE_TEST_SUITE_P(BadSizes, OversizeTest,
                         ::testing::Values(std::string("\x00\x00\x04\x01", 4),  // max + 1
                                           std::string("\xff\xff\xff\xff", 4),  // -1
                                           std::string("\x80\x00\x00\x00", 4),  // INT32_MIN
                                           std::string("\x16\x03\x01\x00\xa5\x01\x00",
                                                       7)  // TLS ClientHello
                                           ));

TEST(ServerTest, FrameOfExactlyTheMaximumIsAccepted) {
  LambdaHandler handler;
  handler.on_request = [](Request request, ResponseSlot slot) {
    slot.Send(ResponsePayload(absl::StrCat(request.frame.size())));
  };
  ServerOptions options;
  options.max_request_bytes = 1024;
  auto server = StartServer(&handler, options);
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame(std::string(1024, 'm')).ok());
  absl::StatusOr<std::string> response = client.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "1024");
}

TEST(ServerTest, LargeAndSmallFramesPipelinedInOneWriteArriveIntact) {
  // Frames larger than the reader's eager allocation are read straight into their own buffers
  // and grown as they arrive; small ones ride in the same reads. Echo proves every byte.
  LambdaHandler handler;
  handler.on_request = Echo;
  ServerOptions options;
  options.max_request_bytes = 8 << 20;
  auto server = StartServer(&handler, options);
  ASSERT_NE(server, nullptr);
  TestClient client = Connect(*server);
  std::mt19937 rng(42);
  std::vector<std::string> bodies;
  for (size_t size : {size_t{5}, size_t{3 << 20} + 17, size_t{0}, size_t{70000},
                      size_t{(1 << 20) - 1}, size_t{1 << 20}, size_t{12}, size_t{5 << 20}}) {
    std::string body(size, '\0');
    for (char& c : body) c = static_cast<char>(rng());
    bodies.push_back(std::move(body));
  }
  std::string stream;
  for (const std::string& body : bodies) {
    char prefix[4];
    StoreBE32(prefix, static_cast<uint32_t>(body.size()));
    stream.append(prefix, 4);
    stream += body;
  }
  std::thread writer([&] { ASSERT_TRUE(client.SendRaw(stream).ok()); });
  for (size_t i = 0; i < bodies.size(); ++i) {
    absl::StatusOr<std::string> response = client.ReadFrame();
    ASSERT_TRUE(response.ok()) << "frame " << i << ": " << response.status();
    EXPECT_TRUE(*response == bodies[i]) << "frame " << i << " of " << bodies[i].size() << " bytes";
  }
  writer.join();
}

class FileResponseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::open(dir_.Sub("00000000000000000000.log").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd_, 0);
    contents_ = PatternBytes(8 << 20, 7);
    ASSERT_EQ(::pwrite(fd_, contents_.data(), contents_.size(), 0),
              static_cast<ssize_t>(contents_.size()));
  }
  void TearDown() override { ::close(fd_); }

  TempDir dir_;
  int fd_ = -1;
  std::string contents_;
};

TEST_F(FileResponseTest, FileChunksMixedWithBytesAreSentWhole) {
  auto pin = std::make_shared<int>(0);
  std::weak_ptr<int> weak_pin = pin;
  LambdaHandler handler;
  handler.on_request = [&, pin](Request request, ResponseSlot slot) mutable {
    ResponsePayload payload(request.frame);
    payload.AddFile({.fd = fd_, .offset = 1000, .size = 5 << 20, .pin = pin});
    payload.AddBytes(std::string(100000, 'm'));
    payload.AddFile({.fd = fd_, .offset = 7 << 20, .size = 1 << 20, .pin = pin});
    payload.AddBytes("end");
    pin.reset();
    slot.Send(std::move(payload));
  };
  auto server = StartServer(&handler);
  TestClient client = Connect(*server);
  client.SetReceiveBuffer(32 << 10);  // small, so the server meets EAGAIN mid-file
  pin.reset();
  ASSERT_TRUE(client.SendFrame("hdr").ok());
  absl::StatusOr<std::string> response = client.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  std::string expected = "hdr" + contents_.substr(1000, 5 << 20) + std::string(100000, 'm') +
                         contents_.substr(7 << 20, 1 << 20) + "end";
  ASSERT_EQ(response->size(), expected.size());
  EXPECT_TRUE(*response == expected);
  // The handler's copy of the pin is gone; the server releases its copies once written.
  for (int i = 0; i < 3000 && !weak_pin.expired(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(weak_pin.expired());
}

TEST_F(FileResponseTest, FileRegionPastTheEndClosesTheConnection) {
  LambdaHandler handler;
  handler.on_request = [&](Request, ResponseSlot slot) {
    ResponsePayload payload;
    payload.AddFile({.fd = fd_, .offset = static_cast<int64_t>(contents_.size()) - 5, .size = 10});
    slot.Send(std::move(payload));
  };
  auto server = StartServer(&handler);
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame("fetch").ok());
  EXPECT_TRUE(client.WaitForClose());
}

TEST(ServerTest, HandlerCloseClosesTheConnectionAndReportsDisconnectOnce) {
  LambdaHandler handler;
  handler.on_request = [](Request request, ResponseSlot slot) {
    if (request.frame == "bad") {
      slot.Close("malformed request header");
    } else {
      slot.Send(ResponsePayload(request.frame));
    }
  };
  auto server = StartServer(&handler);
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame("good").ok());
  ASSERT_TRUE(client.ReadFrame().ok());
  ASSERT_TRUE(client.SendFrame("bad").ok());
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(handler.WaitForDisconnects(1), 1);
  server->Stop();
  EXPECT_EQ(handler.disconnects(), 1);
  EXPECT_EQ(handler.duplicate_disconnects(), 0);
}

TEST(ServerTest, StatsCountConnectionsFramesAndBytes) {
  LambdaHandler handler;
  handler.on_request = Echo;
  auto server = StartServer(&handler);
  {
    TestClient client = Connect(*server);
    ASSERT_TRUE(client.SendFrame("12345").ok());
    ASSERT_TRUE(client.ReadFrame().ok());
    ASSERT_TRUE(client.SendFrame("abc").ok());
    ASSERT_TRUE(client.ReadFrame().ok());
  }
  ASSERT_EQ(handler.WaitForDisconnects(1), 1);
  ServerStats stats = server->stats();
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.connections_closed, 1u);
  EXPECT_EQ(stats.connections_open, 0);
  EXPECT_EQ(stats.frames_received, 2u);
  EXPECT_EQ(stats.frames_sent, 2u);
  EXPECT_EQ(stats.bytes_received, 4u + 5 + 4 + 3);
  EXPECT_EQ(stats.bytes_sent, 4u + 5 + 4 + 3);
  EXPECT_EQ(stats.requests_in_flight, 0);
  EXPECT_EQ(stats.queued_response_bytes, 0);
}

TEST(ServerTest, TimersCompleteParkedRequests) {
  Server* server_ptr = nullptr;
  LambdaHandler handler;
  handler.on_request = [&](Request request, ResponseSlot slot) {
    // Like a long-poll Fetch: answer when MaxWaitMs expires.
    server_ptr->timers()->Schedule(
        absl::Milliseconds(20),
        [slot = std::move(slot), frame = std::move(request.frame)]() mutable {
          slot.Send(ResponsePayload("timed out: " + frame));
        });
  };
  auto server = StartServer(&handler);
  server_ptr = server.get();
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame("fetch").ok());
  absl::StatusOr<std::string> response = client.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "timed out: fetch");
}

TEST(ServerTest, StartFailsOnAPortInUse) {
  LambdaHandler handler;
  handler.on_request = Echo;
  auto first = StartServer(&handler);
  ServerOptions options;
  options.port = first->port();
  absl::StatusOr<std::unique_ptr<Server>> second = Server::Start(options, &handler);
  EXPECT_FALSE(second.ok());
}

TEST(ServerTest, StartRejectsBadOptions) {
  LambdaHandler handler;
  ServerOptions options;
  options.port = 0;
  options.num_loops = 0;
  EXPECT_EQ(Server::Start(options, &handler).status().code(), absl::StatusCode::kInvalidArgument);
  options.num_loops = 1;
  EXPECT_EQ(Server::Start(options, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  options.max_request_bytes = -1;
  EXPECT_EQ(Server::Start(options, &handler).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace varve::server
