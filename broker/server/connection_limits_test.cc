// connections.max.idle.ms, max.connections and max.connections.per.ip over real sockets on
// 127.0.0.1. Waits are bounded polls, never assumptions about speed: idleness is measured on a
// manual clock, and the caps are checked at accept.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "broker/server/connection.h"
#include "broker/server/server.h"
#include "broker/server/test_client.h"
#include "broker/server/test_handler.h"
#include "gtest/gtest.h"

namespace varve::server {
namespace {

std::unique_ptr<Server> StartServer(RequestHandler* handler, ServerOptions options) {
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

// The connection is served: an echo round trip works.
void ExpectServed(TestClient& client, const std::string& text) {
  ASSERT_TRUE(client.SendFrame(text).ok());
  absl::StatusOr<std::string> response = client.ReadFrame();
  ASSERT_TRUE(response.ok()) << text << ": " << response.status();
  EXPECT_EQ(*response, text);
}

template <typename Predicate>
bool WaitFor(Predicate done) {
  for (int i = 0; i < 6000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(PeerAddressTest, StripsThePort) {
  EXPECT_EQ(PeerAddress("127.0.0.1:5555"), "127.0.0.1");
  EXPECT_EQ(PeerAddress("[::1]:5555"), "::1");
  EXPECT_EQ(PeerAddress("10.1.2.3"), "10.1.2.3");
}

TEST(ConnectionAdmissionTest, CapsInAllAndPerAddress) {
  ConnectionAdmission admission(/*max_total=*/3, /*max_per_address=*/2);
  std::string why;
  EXPECT_TRUE(admission.TryAdmit("a", &why));
  EXPECT_TRUE(admission.TryAdmit("a", &why));
  EXPECT_FALSE(admission.TryAdmit("a", &why));
  EXPECT_EQ(why, "2 connections open from a (max.connections.per.ip=2)");
  EXPECT_TRUE(admission.TryAdmit("b", &why));
  EXPECT_FALSE(admission.TryAdmit("c", &why));
  EXPECT_EQ(why, "3 connections open (max.connections=3)");
  admission.Release("a");
  EXPECT_TRUE(admission.TryAdmit("c", &why));
  EXPECT_FALSE(admission.TryAdmit("a", &why));
}

// The idle tests run the server on one loop with a manual idle clock: every sweep on that loop
// looks at every connection at a time the test chose, so "closed" and "left open" follow from
// the clock alone, whatever the machine's speed. A connection that the test sees closed proves
// that a sweep ran after the clock was moved.
ServerOptions ManualIdleClock(const std::atomic<int64_t>* now_ns, int64_t idle_ms) {
  ServerOptions options;
  options.num_loops = 1;
  options.connections_max_idle_ms = idle_ms;
  options.idle_clock_ns = [now_ns] { return now_ns->load(); };
  return options;
}

constexpr int64_t kMs = 1'000'000;

TEST(ConnectionLimitsTest, IdleConnectionsAreClosedWhileBusyOnesStay) {
  LambdaHandler handler;
  handler.on_request = Echo;
  std::atomic<int64_t> now{0};
  auto server = StartServer(&handler, ManualIdleClock(&now, /*idle_ms=*/200));
  ASSERT_NE(server, nullptr);
  TestClient idle = Connect(*server);
  TestClient busy = Connect(*server);
  ExpectServed(idle, "at 0 ms");
  ExpectServed(busy, "at 0 ms");
  now = 150 * kMs;
  ExpectServed(busy, "at 150 ms");
  now = 300 * kMs;  // idle: 300 ms since its last byte; busy: 150 ms
  EXPECT_TRUE(idle.WaitForClose());
  EXPECT_EQ(server->stats().connections_closed_idle, 1u);
  ExpectServed(busy, "still here at 300 ms");
  EXPECT_EQ(server->stats().connections_closed_idle, 1u);
  // Then it stops talking, and goes once more than the limit has passed.
  now = 500 * kMs;
  ExpectServed(busy, "at 500 ms");
  now = 701 * kMs;
  EXPECT_TRUE(busy.WaitForClose());
  EXPECT_EQ(server->stats().connections_closed_idle, 2u);
}

TEST(ConnectionLimitsTest, AParkedRequestKeepsItsConnectionOpen) {
  std::mutex mu;
  std::optional<ResponseSlot> parked;
  LambdaHandler handler;
  handler.on_request = [&](Request request, ResponseSlot slot) {
    if (request.frame != "long poll") return Echo(std::move(request), std::move(slot));
    std::lock_guard lock(mu);
    parked = std::move(slot);
  };
  std::atomic<int64_t> now{0};
  auto server = StartServer(&handler, ManualIdleClock(&now, /*idle_ms=*/200));
  ASSERT_NE(server, nullptr);
  TestClient client = Connect(*server);
  TestClient probe = Connect(*server);
  ExpectServed(probe, "at 0 ms");
  ASSERT_TRUE(client.SendFrame("long poll").ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return parked.has_value();
  }));
  // Ten seconds without a byte: the sweep that closes the probe leaves the parked one alone.
  now = 10'000 * kMs;
  EXPECT_TRUE(probe.WaitForClose());
  EXPECT_EQ(server->stats().connections_closed_idle, 1u);
  {
    std::lock_guard lock(mu);
    parked->Send(ResponsePayload("answer"));
  }
  absl::StatusOr<std::string> response = client.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "answer");
  // Idle from the response on: it goes once the limit has passed since then.
  now = 10'201 * kMs;
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(server->stats().connections_closed_idle, 2u);
}

TEST(ConnectionLimitsTest, AQueuedResponseKeepsItsConnectionOpen) {
  // The client never reads: responses pile up in the server's output queue, unwritten.
  std::string big(1 << 20, 'x');
  LambdaHandler handler;
  handler.on_request = [&](Request request, ResponseSlot slot) {
    if (request.frame == "big") return slot.Send(ResponsePayload(std::string(big)));
    Echo(std::move(request), std::move(slot));
  };
  std::atomic<int64_t> now{0};
  auto server = StartServer(&handler, ManualIdleClock(&now, /*idle_ms=*/200));
  ASSERT_NE(server, nullptr);
  TestClient stuck = Connect(*server);
  stuck.SetReceiveBuffer(4096);
  // 48 MiB of responses (under max_queued_response_bytes): far more than loopback socket
  // buffers hold, so most stay queued however fast the server writes.
  constexpr int kBig = 48;
  for (int i = 0; i < kBig; ++i) ASSERT_TRUE(stuck.SendFrame("big").ok());
  ASSERT_TRUE(WaitFor([&] { return server->stats().frames_sent == kBig; }));
  // Until its socket buffers are full, each write to `stuck` dates its activity anew. So move
  // the clock 10 s at a time, each time with a fresh probe whose close shows that a sweep ran,
  // until no byte was written between moving the clock and that sweep: then the sweep saw
  // `stuck` 10 s without a byte, kept only by its queued output.
  int probes = 0;
  for (bool quiet = false; !quiet; ++probes) {
    ASSERT_LT(probes, 100);
    TestClient probe = Connect(*server);
    ExpectServed(probe, "probe");
    const uint64_t sent = server->stats().bytes_sent;
    now += 10'000 * kMs;
    ASSERT_TRUE(probe.WaitForClose());
    quiet = server->stats().bytes_sent == sent;
  }
  EXPECT_EQ(server->stats().connections_closed_idle, static_cast<uint64_t>(probes));
  EXPECT_GT(server->stats().queued_response_bytes, 0);
}

TEST(ConnectionLimitsTest, IdleLimitMinusOneNeverCloses) {
  LambdaHandler handler;
  handler.on_request = Echo;
  std::atomic<int64_t> now{0};
  auto server = StartServer(&handler, ManualIdleClock(&now, /*idle_ms=*/-1));
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->timers()->pending(), 0u);  // no sweep is ever scheduled
  TestClient client = Connect(*server);
  ExpectServed(client, "at 0 ms");
  now = 1'000'000'000 * kMs;
  ExpectServed(client, "a million seconds later");
  EXPECT_EQ(server->stats().connections_closed_idle, 0u);
}

TEST(ConnectionLimitsTest, ConnectionsBeyondMaxConnectionsAreClosedAtOnce) {
  LambdaHandler handler;
  handler.on_request = Echo;
  ServerOptions options;
  options.max_connections = 2;
  auto server = StartServer(&handler, options);
  ASSERT_NE(server, nullptr);
  TestClient a = Connect(*server);
  TestClient b = Connect(*server);
  ExpectServed(a, "a");
  ExpectServed(b, "b");
  TestClient c = Connect(*server);  // the TCP handshake completes; the server closes it
  EXPECT_TRUE(c.WaitForClose());
  EXPECT_EQ(server->stats().connections_rejected, 1u);
  ExpectServed(a, "a again");
  // Once one closes, a new connection is served.
  a.Close();
  ASSERT_TRUE(WaitFor([&] { return server->stats().connections_closed >= 1; }));
  TestClient d = Connect(*server);
  ExpectServed(d, "d");
  EXPECT_EQ(server->stats().connections_rejected, 1u);
}

TEST(ConnectionLimitsTest, MaxConnectionsPerIpCountsConnectionsFromOneAddress) {
  LambdaHandler handler;
  handler.on_request = Echo;
  ServerOptions options;
  options.max_connections_per_ip = 1;
  auto server = StartServer(&handler, options);
  ASSERT_NE(server, nullptr);
  TestClient a = Connect(*server);
  ExpectServed(a, "a");
  TestClient b = Connect(*server);  // also from 127.0.0.1
  EXPECT_TRUE(b.WaitForClose());
  EXPECT_EQ(server->stats().connections_rejected, 1u);
  a.Close();
  ASSERT_TRUE(WaitFor([&] { return server->stats().connections_closed >= 1; }));
  TestClient c = Connect(*server);
  ExpectServed(c, "c");
}

}  // namespace
}  // namespace varve::server
