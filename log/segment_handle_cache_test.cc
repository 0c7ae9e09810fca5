// SegmentHandleCache on its own, with empty handles: laziness, LRU order, pins, the budget.
// The Log-level guarantees (thousands of real segments, slices, deletion) are in
// log_handle_budget_test.cc.

#include "log/segment_handle_cache.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace varve {
namespace {

using Pin = std::shared_ptr<const SegmentFiles>;

// Opens an empty handle and counts the calls.
struct FakeOpener {
  int calls = 0;
  absl::StatusOr<std::unique_ptr<SegmentFiles>> operator()() {
    ++calls;
    return std::make_unique<SegmentFiles>();
  }
};

Pin MustAcquire(SegmentHandleCache& cache, SegmentHandleCache::Slot* slot, FakeOpener& opener) {
  absl::StatusOr<Pin> pin = cache.Acquire(slot, [&] { return opener(); });
  EXPECT_TRUE(pin.ok()) << pin.status();
  return pin.ok() ? *pin : nullptr;
}

TEST(SegmentHandleCacheTest, OpensLazilyOnceAndReusesTheOpenHandle) {
  SegmentHandleCache cache(4);
  SegmentHandleCache::Slot slot(&cache);
  FakeOpener opener;
  EXPECT_EQ(cache.open(), 0);
  Pin first = MustAcquire(cache, &slot, opener);
  Pin second = MustAcquire(cache, &slot, opener);
  EXPECT_EQ(opener.calls, 1);
  EXPECT_EQ(first.get(), second.get());
  SegmentHandleCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.open, 1);
  EXPECT_EQ(stats.cached, 1);
  EXPECT_EQ(stats.misses, 1);
  EXPECT_EQ(stats.hits, 1);
}

TEST(SegmentHandleCacheTest, ClosesTheLeastRecentlyUsedWhenOverBudget) {
  SegmentHandleCache cache(2);
  SegmentHandleCache::Slot a(&cache), b(&cache), c(&cache);
  FakeOpener open_a, open_b, open_c;
  MustAcquire(cache, &a, open_a);
  MustAcquire(cache, &b, open_b);
  MustAcquire(cache, &a, open_a);  // a is now more recently used than b
  MustAcquire(cache, &c, open_c);  // over budget: b goes
  EXPECT_EQ(cache.open(), 2);
  EXPECT_EQ(cache.stats().evictions, 1);
  MustAcquire(cache, &a, open_a);
  EXPECT_EQ(open_a.calls, 1);  // still open
  MustAcquire(cache, &b, open_b);
  EXPECT_EQ(open_b.calls, 2);  // closed and reopened; c (least recent now) went
  MustAcquire(cache, &c, open_c);
  EXPECT_EQ(open_c.calls, 2);
  EXPECT_EQ(cache.open(), 2);
}

TEST(SegmentHandleCacheTest, PinnedHandlesStayOpenAndTheBudgetIsExceededMeanwhile) {
  SegmentHandleCache cache(1);
  SegmentHandleCache::Slot a(&cache), b(&cache), c(&cache);
  FakeOpener open_a, open_b, open_c;
  Pin pinned = MustAcquire(cache, &a, open_a);
  MustAcquire(cache, &b, open_b);  // a is pinned: both stay open rather than anyone waiting
  EXPECT_EQ(cache.open(), 2);
  EXPECT_EQ(MustAcquire(cache, &a, open_a).get(), pinned.get());
  EXPECT_EQ(open_a.calls, 1);
  pinned.reset();
  MustAcquire(cache, &c, open_c);  // nothing pinned any more: back within the budget
  EXPECT_EQ(cache.open(), 1);
  EXPECT_EQ(cache.stats().cached, 1);
}

TEST(SegmentHandleCacheTest, AReleasedHandleClosesWhenItsLastPinGoesAndCountsUntilThen) {
  SegmentHandleCache cache(4);
  SegmentHandleCache::Slot slot(&cache);
  FakeOpener opener;
  Pin pin = MustAcquire(cache, &slot, opener);
  cache.Release(&slot);  // the segment was deleted while a reader holds it
  EXPECT_EQ(cache.stats().cached, 0);
  EXPECT_EQ(cache.open(), 1);
  EXPECT_NE(pin, nullptr);
  pin.reset();
  EXPECT_EQ(cache.open(), 0);
  // A later use opens it again (for a Segment, only if its files still exist).
  MustAcquire(cache, &slot, opener);
  EXPECT_EQ(opener.calls, 2);
}

TEST(SegmentHandleCacheTest, AdoptedFilesAreCountedAndReplaceTheCachedHandle) {
  SegmentHandleCache cache(1);
  SegmentHandleCache::Slot a(&cache), b(&cache);
  FakeOpener open_a, open_b;
  MustAcquire(cache, &a, open_a);
  auto sealed = std::make_shared<SegmentFiles>();
  SegmentFiles* raw = sealed.get();
  cache.Adopt(&b, std::move(sealed));  // b was just sealed; a is the least recently used
  EXPECT_EQ(cache.open(), 1);
  EXPECT_EQ(MustAcquire(cache, &b, open_b).get(), raw);
  EXPECT_EQ(open_b.calls, 0);
  cache.Adopt(&b, std::make_shared<SegmentFiles>());
  EXPECT_EQ(cache.open(), 1);
  EXPECT_NE(MustAcquire(cache, &b, open_b).get(), raw);
}

TEST(SegmentHandleCacheTest, OpenErrorsAreReturnedAndNothingIsCached) {
  SegmentHandleCache cache(4);
  SegmentHandleCache::Slot slot(&cache);
  absl::StatusOr<Pin> pin =
      cache.Acquire(&slot, []() -> absl::StatusOr<std::unique_ptr<SegmentFiles>> {
        return absl::NotFoundError("gone");
      });
  EXPECT_EQ(pin.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(cache.open(), 0);
  EXPECT_EQ(cache.stats().cached, 0);
}

TEST(SegmentHandleCacheTest, SetCapacityClosesDownToTheNewBudgetAndRejectsZero) {
  SegmentHandleCache cache(8);
  std::vector<std::unique_ptr<SegmentHandleCache::Slot>> slots;
  FakeOpener opener;
  for (int i = 0; i < 8; ++i) {
    slots.push_back(std::make_unique<SegmentHandleCache::Slot>(&cache));
    MustAcquire(cache, slots.back().get(), opener);
  }
  EXPECT_EQ(cache.open(), 8);
  EXPECT_EQ(cache.SetCapacity(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cache.capacity(), 8);
  ASSERT_TRUE(cache.SetCapacity(3).ok());
  EXPECT_EQ(cache.open(), 3);
  // The three most recently used stayed.
  for (int i = 5; i < 8; ++i) MustAcquire(cache, slots[i].get(), opener);
  EXPECT_EQ(opener.calls, 8);
  EXPECT_EQ(cache.max_segments_per_read(), 1);
  ASSERT_TRUE(cache.SetCapacity(4096).ok());
  EXPECT_EQ(cache.max_segments_per_read(), 64);
}

TEST(SegmentHandleCacheTest, DestroyingASlotClosesItsHandle) {
  SegmentHandleCache cache(4);
  FakeOpener opener;
  {
    SegmentHandleCache::Slot slot(&cache);
    MustAcquire(cache, &slot, opener);
    EXPECT_EQ(cache.open(), 1);
  }
  EXPECT_EQ(cache.open(), 0);
  EXPECT_EQ(cache.stats().cached, 0);
}

TEST(SegmentHandleCacheTest, ConcurrentMissesOnOneSegmentOpenItOnce) {
  SegmentHandleCache cache(4);
  SegmentHandleCache::Slot slot(&cache);
  std::atomic<int> calls{0};
  std::vector<std::thread> threads;
  std::vector<Pin> pins(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<Pin> pin =
          cache.Acquire(&slot, [&]() -> absl::StatusOr<std::unique_ptr<SegmentFiles>> {
            calls.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            return std::make_unique<SegmentFiles>();
          });
      ASSERT_TRUE(pin.ok());
      pins[t] = *pin;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(calls.load(), 1);
  for (const Pin& pin : pins) EXPECT_EQ(pin.get(), pins[0].get());
}

// Many threads pinning, releasing and adopting handles of many segments under a tiny budget:
// run under ThreadSanitizer. Afterwards the books balance.
TEST(SegmentHandleCacheTest, ManyThreadsOverManySegmentsKeepTheBooks) {
  constexpr int kSlots = 64;
  constexpr int64_t kBudget = 4;
  SegmentHandleCache cache(kBudget);
  std::vector<std::unique_ptr<SegmentHandleCache::Slot>> slots;
  for (int i = 0; i < kSlots; ++i) {
    slots.push_back(std::make_unique<SegmentHandleCache::Slot>(&cache));
  }
  std::atomic<int64_t> max_open{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<Pin> held;
      for (int i = 0; i < 3000; ++i) {
        SegmentHandleCache::Slot* slot = slots[rng() % kSlots].get();
        switch (rng() % 8) {
          case 0:
            cache.Release(slot);
            break;
          case 1:
            cache.Adopt(slot, std::make_shared<SegmentFiles>());
            break;
          default: {
            absl::StatusOr<Pin> pin =
                cache.Acquire(slot, [] { return std::make_unique<SegmentFiles>(); });
            ASSERT_TRUE(pin.ok());
            if (rng() % 4 == 0) held.push_back(*pin);  // a slice kept for a while
          }
        }
        if (held.size() > 2) held.erase(held.begin());
        int64_t open = cache.open();
        int64_t seen = max_open.load();
        while (open > seen && !max_open.compare_exchange_weak(seen, open)) {
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  // Each thread holds at most 2 pins and 1 in flight, and closes its victims just after
  // unlocking (they count until then); the rest is within the budget.
  EXPECT_LE(max_open.load(), kBudget + 4 * 5);
  ASSERT_TRUE(cache.SetCapacity(kBudget).ok());  // nothing pinned now: evicts any excess
  SegmentHandleCache::Stats stats = cache.stats();
  EXPECT_EQ(stats.open, stats.cached);
  EXPECT_LE(stats.open, kBudget);
  slots.clear();
  EXPECT_EQ(cache.open(), 0);
}

}  // namespace
}  // namespace varve
