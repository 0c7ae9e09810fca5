// Many concurrent connections, and a slow reader among fast ones.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
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

// Completes slots on a few worker threads, like the broker completing parked requests.
class WorkerPool {
 public:
  explicit WorkerPool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& thread : threads_) thread.join();
  }
  void Add(ResponseSlot slot, std::string response) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      work_.emplace_back(std::move(slot), std::move(response));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return done_ || !work_.empty(); });
      if (work_.empty()) return;
      auto [slot, response] = std::move(work_.front());
      work_.pop_front();
      lock.unlock();
      slot.Send(ResponsePayload(std::move(response)));
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<ResponseSlot, std::string>> work_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

TEST(ServerLoadTest, TwoHundredFiftyConcurrentConnectionsPipelining) {
  constexpr int kConnections = 250;
  constexpr int kRequests = 6;
  constexpr int kClientThreads = 10;
  WorkerPool pool(3);
  LambdaHandler handler;
  handler.on_request = [&](Request request, ResponseSlot slot) {
    std::string response = "re:" + request.frame;
    // Half answered on the loop thread, half later from the pool: still in order.
    if (request.frame.back() % 2 == 0) {
      slot.Send(ResponsePayload(std::move(response)));
    } else {
      pool.Add(std::move(slot), std::move(response));
    }
  };
  ServerOptions options;
  options.num_loops = 3;
  auto server = StartServer(&handler, options);

  // All connections are open at once before any request is sent.
  std::vector<TestClient> clients;
  for (int c = 0; c < kConnections; ++c) {
    absl::StatusOr<TestClient> client = TestClient::Connect(server->port());
    ASSERT_TRUE(client.ok()) << client.status();
    clients.push_back(std::move(*client));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClientThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = t; c < kConnections; c += kClientThreads) {
        for (int r = 0; r < kRequests; ++r) {
          if (!clients[c].SendFrame(absl::StrCat(c, "/", r)).ok()) ++failures;
        }
      }
      for (int c = t; c < kConnections; c += kClientThreads) {
        for (int r = 0; r < kRequests; ++r) {
          absl::StatusOr<std::string> response = clients[c].ReadFrame(absl::Seconds(120));
          if (!response.ok() || *response != absl::StrCat("re:", c, "/", r)) ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  ServerStats stats = server->stats();
  EXPECT_EQ(stats.connections_accepted, static_cast<uint64_t>(kConnections));
  EXPECT_EQ(stats.frames_received, static_cast<uint64_t>(kConnections * kRequests));
  clients.clear();
  EXPECT_EQ(handler.WaitForDisconnects(kConnections), kConnections);
  server->Stop();
}

TEST(ServerLoadTest, SlowReaderNeitherBlocksOthersNorGrowsQueuedBytesWithoutBound) {
  constexpr int64_t kResponseBytes = 256 << 10;
  constexpr int kSlowRequests = 400;  // 100 MiB of responses if the server kept them all
  LambdaHandler handler;
  std::atomic<int> slow_handled{0};
  handler.on_request = [&](Request request, ResponseSlot slot) {
    if (request.frame.rfind("slow", 0) == 0) {
      ++slow_handled;
      std::string response = request.frame;
      response.resize(kResponseBytes, '.');
      slot.Send(ResponsePayload(std::move(response)));
    } else {
      slot.Send(ResponsePayload(std::move(request.frame)));
    }
  };
  ServerOptions options;
  options.max_queued_response_bytes = 1 << 20;
  options.max_in_flight_per_connection = 8;
  auto server = StartServer(&handler, options);
  const int64_t bound = options.max_queued_response_bytes +
                        options.max_in_flight_per_connection * (kResponseBytes + 4);

  absl::StatusOr<TestClient> slow = TestClient::Connect(server->port());
  ASSERT_TRUE(slow.ok());
  slow->SetReceiveBuffer(16 << 10);
  // The sender blocks once the server stops reading; it finishes when the reader catches up.
  std::thread sender([&] {
    for (int i = 0; i < kSlowRequests; ++i) {
      if (!slow->SendFrame(absl::StrCat("slow", i)).ok()) return;
    }
  });

  // Meanwhile a fast client is served normally, and the server's queued bytes stay bounded.
  absl::StatusOr<TestClient> fast = TestClient::Connect(server->port());
  ASSERT_TRUE(fast.ok());
  int64_t max_queued_seen = 0;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(fast->SendFrame(absl::StrCat("fast", i)).ok());
    absl::StatusOr<std::string> response = fast->ReadFrame();
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(*response, absl::StrCat("fast", i));
    max_queued_seen = std::max(max_queued_seen, server->stats().queued_response_bytes);
  }
  EXPECT_LE(max_queued_seen, bound);
  EXPECT_LE(server->stats().queued_response_bytes, bound);
  // Far fewer slow requests were handled than sent: reading that connection stopped. (Kernel
  // socket buffers hold at most a few MiB more; the client's receive buffer was shrunk.)
  EXPECT_LT(slow_handled.load(), kSlowRequests);
  std::fprintf(stderr, "slow requests handled while the client was not reading: %d of %d\n",
               slow_handled.load(), kSlowRequests);

  // Now the slow client reads everything, in order, and the server drains.
  for (int i = 0; i < kSlowRequests; ++i) {
    absl::StatusOr<std::string> response = slow->ReadFrame(absl::Seconds(120));
    ASSERT_TRUE(response.ok()) << i << ": " << response.status();
    ASSERT_EQ(response->size(), static_cast<size_t>(kResponseBytes));
    std::string prefix = absl::StrCat("slow", i);
    ASSERT_EQ(response->substr(0, prefix.size()), prefix);
    EXPECT_LE(server->stats().queued_response_bytes, bound);
  }
  sender.join();
  EXPECT_EQ(slow_handled.load(), kSlowRequests);
  server->Stop();
}

}  // namespace
}  // namespace varve::server
