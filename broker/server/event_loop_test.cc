#include "broker/server/event_loop.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace varve::server {
namespace {

std::shared_ptr<EventLoop> MakeLoop() {
  absl::StatusOr<std::shared_ptr<EventLoop>> loop = EventLoop::Create("test-loop");
  EXPECT_TRUE(loop.ok()) << loop.status();
  return *loop;
}

// Blocks until the loop has run every task posted before this call.
bool Sync(EventLoop* loop) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  if (!loop->Post([&] {
        std::lock_guard<std::mutex> lock(mu);
        done = true;
        cv.notify_all();
      })) {
    return false;
  }
  std::unique_lock<std::mutex> lock(mu);
  return cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; });
}

TEST(EventLoopTest, TasksRunOnTheLoopThreadInPostOrder) {
  auto loop = MakeLoop();
  loop->Start();
  std::vector<int> order;  // touched only on the loop thread until Sync returns
  std::atomic<bool> on_loop_thread{true};
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(loop->Post([&, i, raw = loop.get()] {
      if (!raw->IsLoopThread()) on_loop_thread = false;
      order.push_back(i);
    }));
  }
  ASSERT_TRUE(Sync(loop.get()));
  EXPECT_TRUE(on_loop_thread);
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  EXPECT_FALSE(loop->IsLoopThread());
  loop->Stop();
}

TEST(EventLoopTest, TaskPostedByATaskRuns) {
  auto loop = MakeLoop();
  loop->Start();
  std::atomic<int> stage{0};
  loop->Post([&, raw = loop.get()] {
    stage = 1;
    raw->Post([&] { stage = 2; });
  });
  for (int i = 0; i < 3000 && stage.load() != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stage.load(), 2);
  loop->Stop();
}

TEST(EventLoopTest, PostFromManyThreads) {
  auto loop = MakeLoop();
  loop->Start();
  int count = 0;  // loop thread only
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) loop->Post([&] { ++count; });
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(Sync(loop.get()));
  EXPECT_EQ(count, 8000);
  loop->Stop();
}

TEST(EventLoopTest, ShutdownHookRunsOnTheLoopThreadBeforeTasksAreDropped) {
  auto loop = MakeLoop();
  std::atomic<bool> hook_on_loop_thread{false};
  loop->SetShutdownHook([&, raw = loop.get()] { hook_on_loop_thread = raw->IsLoopThread(); });
  loop->Start();
  loop->Stop();
  EXPECT_TRUE(hook_on_loop_thread);
}

TEST(EventLoopTest, PostAfterStopFailsAndDestroysTheTask) {
  auto loop = MakeLoop();
  loop->Start();
  loop->Stop();
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> weak = token;
  bool ran = false;
  EXPECT_FALSE(loop->Post([token = std::move(token), &ran] { ran = true; }));
  EXPECT_TRUE(weak.expired());
  EXPECT_FALSE(ran);
  loop->Stop();  // idempotent
}

TEST(EventLoopTest, StopWithoutStart) {
  auto loop = MakeLoop();
  loop->Stop();
  EXPECT_FALSE(loop->Post([] {}));
}

TEST(EventLoopTest, ConcurrentPostsDuringStopAreRunOrDropped) {
  auto loop = MakeLoop();
  loop->Start();
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> weak = token;
  std::atomic<bool> go{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, token] {
      while (go) loop->Post([token] {});
    });
  }
  token.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  loop->Stop();
  go = false;
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(weak.expired());  // every task was run or destroyed
}

}  // namespace
}  // namespace varve::server
