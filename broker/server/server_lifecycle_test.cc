// Parked requests across disconnects and Stop(), dropped slots, and read back-pressure.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/server/server.h"
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

class ParkingHandler : public LambdaHandler {
 public:
  ParkingHandler() {
    on_request = [this](Request request, ResponseSlot slot) {
      lot.Park(std::move(request), std::move(slot));
    };
  }
  ParkingLot lot;
};

TEST(ServerLifecycleTest, CompletingSlotsAfterTheClientDisconnectedIsSafe) {
  ParkingHandler handler;
  auto server = StartServer(&handler);
  {
    TestClient client = Connect(*server);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.SendFrame(absl::StrCat("p", i)).ok());
    ASSERT_EQ(handler.lot.WaitForTotal(3), 3);
  }
  ASSERT_EQ(handler.WaitForDisconnects(1), 1);
  std::deque<ParkingLot::Parked> parked = handler.lot.TakeAll();
  std::thread completer([&] {
    parked[0].slot.Send(ResponsePayload(std::string(1 << 20, 'x')));
    parked[1].slot.SendNothing();
    parked[2].slot.Close("too late");
  });
  completer.join();
  // The server keeps serving others.
  TestClient other = Connect(*server);
  ASSERT_TRUE(other.SendFrame("next").ok());
  ASSERT_EQ(handler.lot.WaitForTotal(4), 4);
  handler.lot.TakeAll().front().slot.Send(ResponsePayload("served"));
  absl::StatusOr<std::string> response = other.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "served");
  EXPECT_EQ(handler.disconnects(), 1);
  EXPECT_EQ(server->stats().requests_in_flight, 0);
}

TEST(ServerLifecycleTest, StopWithParkedSlotsThenCompleteThemAfterTheServerIsGone) {
  ParkingHandler handler;
  auto server = StartServer(&handler);
  std::vector<TestClient> clients;
  for (int c = 0; c < 4; ++c) {
    clients.push_back(Connect(*server));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(clients.back().SendFrame("parked").ok());
  }
  ASSERT_EQ(handler.lot.WaitForTotal(12), 12);
  server->Stop();
  EXPECT_EQ(handler.disconnects(), 4);
  EXPECT_EQ(handler.duplicate_disconnects(), 0);
  for (auto& client : clients) EXPECT_TRUE(client.WaitForClose());
  server.reset();  // slots outlive the Server
  std::deque<ParkingLot::Parked> parked = handler.lot.TakeAll();
  std::thread completer([&] {
    for (size_t i = 0; i < parked.size(); ++i) {
      if (i % 3 == 0) parked[i].slot.Send(ResponsePayload("late"));
      if (i % 3 == 1) parked[i].slot.SendNothing();
      // i % 3 == 2: dropped by ~Parked below
    }
    parked.clear();
  });
  completer.join();
}

TEST(ServerLifecycleTest, StopRacingWithCompletionsFromManyThreads) {
  ParkingHandler handler;
  auto server = StartServer(&handler);
  std::vector<TestClient> clients;
  constexpr int kClients = 8;
  constexpr int kPerClient = 20;
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(Connect(*server));
    for (int i = 0; i < kPerClient; ++i) ASSERT_TRUE(clients.back().SendFrame("r").ok());
  }
  ASSERT_EQ(handler.lot.WaitForTotal(kClients * kPerClient), kClients * kPerClient);
  std::deque<ParkingLot::Parked> parked = handler.lot.TakeAll();
  std::vector<std::thread> completers;
  for (int t = 0; t < 4; ++t) {
    completers.emplace_back([&, t] {
      for (size_t i = t; i < parked.size(); i += 4) {
        parked[i].slot.Send(ResponsePayload(std::string(1000, 'c')));
      }
    });
  }
  server->Stop();
  for (auto& thread : completers) thread.join();
  EXPECT_EQ(handler.disconnects(), kClients);
  EXPECT_EQ(handler.duplicate_disconnects(), 0);
}

TEST(ServerLifecycleTest, DroppedSlotClosesTheConnection) {
  LambdaHandler handler;
  handler.on_request = [](Request request, ResponseSlot slot) {
    if (request.frame == "forget") return;  // bug: the slot is destroyed unanswered
    slot.Send(ResponsePayload(request.frame));
  };
  auto server = StartServer(&handler);
  TestClient client = Connect(*server);
  ASSERT_TRUE(client.SendFrame("ok").ok());
  ASSERT_TRUE(client.ReadFrame().ok());
  ASSERT_TRUE(client.SendFrame("forget").ok());
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(handler.WaitForDisconnects(1), 1);
}

TEST(ServerLifecycleTest, MoveAssigningOverALiveSlotClosesItsConnection) {
  ParkingHandler handler;
  auto server = StartServer(&handler);
  TestClient first = Connect(*server);
  TestClient second = Connect(*server);
  ASSERT_TRUE(first.SendFrame("a").ok());
  ASSERT_EQ(handler.lot.WaitForTotal(1), 1);
  ASSERT_TRUE(second.SendFrame("b").ok());
  ASSERT_EQ(handler.lot.WaitForTotal(2), 2);
  std::deque<ParkingLot::Parked> parked = handler.lot.TakeAll();
  parked[0].slot = std::move(parked[1].slot);  // closes the first client's connection
  EXPECT_FALSE(parked[1].slot.pending());
  parked[0].slot.Send(ResponsePayload("to the survivor"));
  EXPECT_TRUE(first.WaitForClose());
  absl::StatusOr<std::string> response = second.ReadFrame();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "to the survivor");
}

TEST(ServerLifecycleTest, InFlightLimitPausesReadingUntilASlotCompletes) {
  ParkingHandler handler;
  ServerOptions options;
  options.max_in_flight_per_connection = 4;
  auto server = StartServer(&handler, options);
  TestClient client = Connect(*server);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.SendFrame(absl::StrCat(i)).ok());
  ASSERT_EQ(handler.lot.WaitForTotal(4), 4);
  // An upper bound, so a slow machine cannot make it fail: nothing beyond the limit arrives.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(handler.lot.total(), 4);

  // Answer requests as they arrive; each answer admits one more.
  int answered = 0;
  while (answered < 10) {
    ASSERT_GE(handler.lot.WaitForTotal(answered + 1), answered + 1);
    std::deque<ParkingLot::Parked> parked = handler.lot.TakeAll();
    for (auto& p : parked) p.slot.Send(ResponsePayload(p.request.frame));
    for (size_t k = 0; k < parked.size(); ++k) {
      absl::StatusOr<std::string> response = client.ReadFrame();
      ASSERT_TRUE(response.ok()) << response.status();
      EXPECT_EQ(*response, absl::StrCat(answered++));
    }
    EXPECT_LE(handler.lot.total(), answered + 4);
  }
  EXPECT_EQ(handler.lot.total(), 10);
}

TEST(ServerLifecycleTest, ClientClosingWhilePausedIsNoticed) {
  ParkingHandler handler;
  ServerOptions options;
  options.max_in_flight_per_connection = 1;
  auto server = StartServer(&handler, options);
  {
    TestClient client = Connect(*server);
    ASSERT_TRUE(client.SendFrame("one").ok());
    ASSERT_TRUE(client.SendFrame("two").ok());
    ASSERT_EQ(handler.lot.WaitForTotal(1), 1);
  }
  // The connection is paused (one parked request) and not reading; the close still registers.
  EXPECT_EQ(handler.WaitForDisconnects(1), 1);
  handler.lot.TakeAll().front().slot.SendNothing();
}

}  // namespace
}  // namespace varve::server
