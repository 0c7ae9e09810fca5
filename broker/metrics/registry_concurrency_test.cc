// Hot-path updates, child creation and scrapes from many threads at once (run under TSan).

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "broker/metrics/registry.h"
#include "gtest/gtest.h"

namespace varve::metrics {
namespace {

TEST(RegistryConcurrencyTest, UpdatesCreationAndRenderingRace) {
  Registry registry;
  Counter* counter = registry.AddCounter("c_total", "c");
  Gauge* gauge = registry.AddGauge("g", "g");
  Histogram* histogram = registry.AddHistogram("h", "h", {1, 2, 3});
  Family<Counter>* family = registry.AddCounterFamily("by_thread_total", "t", {"thread"});
  std::atomic<int> callback_value{0};
  registry.AddCallbackGauge("cb", "cb", [&] { return callback_value.load(); });

  constexpr int kThreads = 6;
  constexpr int kIterations = 5000;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done) EXPECT_FALSE(registry.Render().empty());
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        counter->Increment();
        gauge->Add(t % 2 == 0 ? 1 : -1);
        histogram->Observe(i % 4);
        family->WithLabels({std::to_string(i % 10)})->Increment();
        callback_value.store(i);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  done = true;
  scraper.join();

  EXPECT_EQ(counter->value(), kThreads * kIterations);
  EXPECT_EQ(gauge->value(), 0);
  Histogram::Snapshot snapshot = histogram->TakeSnapshot();
  EXPECT_EQ(snapshot.count, static_cast<uint64_t>(kThreads * kIterations));
  EXPECT_EQ(snapshot.sum, kThreads * (kIterations / 4) * (0 + 1 + 2 + 3));
  double total = 0;
  for (int i = 0; i < 10; ++i) total += family->WithLabels({std::to_string(i)})->value();
  EXPECT_EQ(total, kThreads * kIterations);
}

}  // namespace
}  // namespace varve::metrics
