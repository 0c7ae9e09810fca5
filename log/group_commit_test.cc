#include "log/group_commit.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "base/temp_dir.h"
#include "gtest/gtest.h"

namespace varve {
namespace {

// Counts syncs; can hold the first sync until released, to make sharing deterministic.
class FakeIo final : public IoBackend {
 public:
  IoBackendKind kind() const override { return IoBackendKind::kPwritev; }
  absl::Status Write(File* file, int64_t position, absl::string_view data,
                     PendingSync* sync) override {
    if (sync != nullptr) sync->submitted = true;
    return file->Write(position, data);
  }
  absl::Status WaitSync(File* file, PendingSync* sync) override {
    sync->submitted = false;
    return Sync(file);
  }
  absl::Status Sync(File*) override {
    std::unique_lock lock(mu_);
    ++syncs_;
    entered_.notify_all();
    released_cv_.wait(lock, [&] { return released_ || syncs_ > 1; });
    return next_error_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    released_cv_.notify_all();
  }
  void WaitForSyncs(int n) {
    std::unique_lock lock(mu_);
    entered_.wait(lock, [&] { return syncs_ >= n; });
  }
  int syncs() {
    std::lock_guard lock(mu_);
    return syncs_;
  }
  absl::Status next_error_;

 private:
  std::mutex mu_;
  std::condition_variable entered_, released_cv_;
  bool released_ = false;
  int syncs_ = 0;
};

class GroupCommitTest : public ::testing::Test {
 protected:
  GroupCommitTest() {
    segment_ = *Segment::Create(PosixFileSystem(), dir_.path(), 0, LogConfig(), 0);
  }
  TempDir dir_;
  std::shared_ptr<Segment> segment_;
  std::shared_ptr<FakeIo> io_ = std::make_shared<FakeIo>();
};

TEST_F(GroupCommitTest, WaitersArrivingDuringASyncShareTheNextOne) {
  auto commit = std::make_shared<GroupCommit>(io_, 0);
  commit->Written(segment_, 1, 10, false);
  std::thread leader([&] { EXPECT_TRUE(commit->WaitDurable(1).ok()); });
  io_->WaitForSyncs(1);  // the leader is inside its sync
  // Eight more appenders write and wait while it runs.
  std::vector<std::thread> followers;
  for (int i = 2; i <= 9; ++i) {
    commit->Written(segment_, i, 10, false);
    followers.emplace_back([&, i] { EXPECT_TRUE(commit->WaitDurable(i).ok()); });
  }
  io_->Release();
  leader.join();
  for (std::thread& t : followers) t.join();
  EXPECT_EQ(io_->syncs(), 2);  // one for the leader, one shared by all eight followers
  EXPECT_EQ(commit->durable_offset(), 9);
}

TEST_F(GroupCommitTest, DurableOffsetOnlyCoversWhatWasWrittenBeforeTheSync) {
  io_->Release();
  auto commit = std::make_shared<GroupCommit>(io_, 0);
  commit->Written(segment_, 5, 10, false);
  ASSERT_TRUE(commit->WaitDurable(5).ok());
  EXPECT_EQ(commit->durable_offset(), 5);
  commit->Written(segment_, 7, 10, false);
  EXPECT_EQ(commit->durable_offset(), 5);
  ASSERT_TRUE(commit->SyncAll().ok());
  EXPECT_EQ(commit->durable_offset(), 7);
}

TEST_F(GroupCommitTest, ALinkedLeaderCoversItsOwnWrite) {
  io_->Release();
  auto commit = std::make_shared<GroupCommit>(io_, 0);
  ASSERT_TRUE(commit->TryLead());
  EXPECT_FALSE(commit->TryLead());  // one leader at a time
  commit->Written(segment_, 3, 10, /*linked=*/true);
  commit->FinishLead(3, absl::OkStatus());
  EXPECT_EQ(commit->durable_offset(), 3);
  EXPECT_EQ(io_->syncs(), 0);  // the linked sync was the write's, not a separate one
  ASSERT_TRUE(commit->WaitDurable(3).ok());
  EXPECT_EQ(io_->syncs(), 0);
}

TEST_F(GroupCommitTest, NoLeadWhileWritesWaitForASync) {
  io_->Release();
  auto commit = std::make_shared<GroupCommit>(io_, 0);
  commit->Written(segment_, 1, 10, false);
  EXPECT_FALSE(commit->TryLead());  // a linked sync would not cover the earlier write's file
}

TEST_F(GroupCommitTest, AFailedSyncIsStickyAndReachesEveryWaiterAndCallback) {
  io_->Release();
  io_->next_error_ = absl::InternalError("injected EIO");
  auto commit = std::make_shared<GroupCommit>(io_, 0);
  commit->Written(segment_, 1, 10, false);
  EXPECT_EQ(commit->WaitDurable(1).code(), absl::StatusCode::kInternal);
  io_->next_error_ = absl::OkStatus();
  commit->Written(segment_, 2, 10, false);
  // A later sync that "succeeds" proves nothing after a failure: the error stays.
  EXPECT_EQ(commit->WaitDurable(2).code(), absl::StatusCode::kInternal);
  std::atomic<bool> called{false};
  commit->OnDurable(2, [&](absl::Status s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
    called = true;
  });
  EXPECT_TRUE(called.load());
  EXPECT_FALSE(commit->TryLead());
  EXPECT_EQ(commit->durable_offset(), 0);
}

TEST_F(GroupCommitTest, CallbacksRunAfterABackgroundSync) {
  io_->Release();
  auto commit = std::make_shared<GroupCommit>(io_, 0);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int64_t> done;
  for (int i = 1; i <= 5; ++i) {
    commit->Written(segment_, i, 10, false);
    commit->OnDurable(i, [&, i](absl::Status s) {
      EXPECT_TRUE(s.ok());
      std::lock_guard lock(mu);
      done.push_back(i);
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done.size() == 5; }));
  EXPECT_EQ(done, (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

}  // namespace
}  // namespace varve
