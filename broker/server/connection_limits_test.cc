// connections.max.idle.ms, max.connections and max.connections.per.ip over real sockets on
// 127.0.0.1. Waits are bounded polls, never assumptions about speed; the "stays open" checks
// hold for any speed (a slow machine only sweeps later).

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

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

TEST(ConnectionLimitsTest, IdleConnectionsAreClosedWhileBusyOnesStay) {
  LambdaHandler handler;
  handler.on_request = Echo;
  ServerOptions options;
  options.connections_max_idle_ms = 200;
  auto server = StartServer(&handler, options);
  ASSERT_NE(server, nullptr);
  TestClient idle = Connect(*server);
  TestClient busy = Connect(*server);
  ExpectServed(idle, "once");
  // The busy one talks every 20 ms until the idle one is gone.
  for (int i = 0; server->stats().connections_closed_idle == 0 && i < 3000; ++i) {
    ExpectServed(busy, "ping");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server->stats().connections_closed_idle, 1u);
  EXPECT_TRUE(idle.WaitForClose());
  ExpectServed(busy, "still here");
}

TEST(ConnectionLimitsTest, AParkedRequestKeepsItsConnectionOpen) {
  std::mutex mu;
  std::optional<ResponseSlot> parked;
  LambdaHandler handler;
  handler.on_request = [&](Request, ResponseSlot slot) {
    std::lock_guard lock(mu);
    parked = std::move(slot);
  };
  ServerOptions options;
  options.connections_max_idle_ms = 50;
  auto server = StartServer(&handler, options);
  ASSERT_NE(server, nullptr);
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame("long poll").ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return parked.has_value();
  }));
  // Many idle periods pass with the request in flight: the connection stays.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(server->stats().connections_closed_idle, 0u);
  {
    std::lock_guard lock(mu);
    parked->Send(ResponsePayload("answer"));
  }
  absl::StatusOr<std::string> response = client.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "answer");
  // Then, idle, it goes.
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(server->stats().connections_closed_idle, 1u);
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
