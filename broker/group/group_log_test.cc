#include "broker/group/group_log.h"

#include <future>

#include "base/temp_dir.h"
#include "broker/broker_config.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"

namespace varve::broker::group {
namespace {

class GroupLogTest : public ::testing::Test {
 protected:
  void SetUp() override { config_.data_dir = dir_.path(); }

  void Open() {
    Close();
    auto store = MetadataStore::Open(dir_.path() + "/metadata.rocksdb");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto topics = TopicManager::Open(config_, store_.get());
    ASSERT_TRUE(topics.ok()) << topics.status();
    topics_ = std::move(*topics);
    loaded_ = {};
    warnings_.clear();
    GroupLog::Options options;
    options.num_partitions = 3;
    auto log = GroupLog::Open(topics_.get(), store_.get(), options, &loaded_, &warnings_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }

  void Close() {
    if (log_) log_->Stop();
    log_.reset();
    if (topics_) {
      ASSERT_TRUE(topics_->Close().ok());
    }
    topics_.reset();
    store_.reset();
  }
  void TearDown() override { Close(); }

  absl::Status AppendAndWait(std::vector<CoordinatorRecord> records) {
    std::promise<absl::Status> done;
    log_->Append(std::move(records), [&](absl::Status s) { done.set_value(s); });
    return done.get_future().get();
  }

  static OffsetRecord Commit(const std::string& group, int32_t partition, int64_t offset) {
    return OffsetRecord{.key = {group, "t", partition},
                        .value = CommittedOffset{.offset = offset, .metadata = "m"}};
  }

  TempDir dir_;
  BrokerConfig config_;
  std::unique_ptr<MetadataStore> store_;
  std::unique_ptr<TopicManager> topics_;
  std::unique_ptr<GroupLog> log_;
  LoadedGroups loaded_;
  std::vector<std::string> warnings_;
};

TEST_F(GroupLogTest, CreatesTheInternalTopicOnce) {
  Open();
  auto topic = topics_->Get(kOffsetsTopic);
  ASSERT_NE(topic, nullptr);
  EXPECT_EQ(topic->partitions.size(), 3u);
  Open();
  EXPECT_EQ(topics_->Get(kOffsetsTopic)->partitions.size(), 3u);
  EXPECT_TRUE(loaded_.offsets.empty());
}

TEST_F(GroupLogTest, AppliedRecordsSurviveAReopen) {
  Open();
  ASSERT_TRUE(AppendAndWait({Commit("g", 0, 5), Commit("g", 1, 7)}).ok());
  ASSERT_TRUE(AppendAndWait({Commit("g", 0, 6)}).ok());
  GroupMetadataRecord meta{.protocol_type = "consumer", .generation = 3, .protocol = "range"};
  ASSERT_TRUE(AppendAndWait({GroupRecord{.group = "g", .value = meta}}).ok());
  ASSERT_TRUE(AppendAndWait({OffsetRecord{.key = {"g", "t", 1}, .value = {}}}).ok());
  // Each append is in the log and in RocksDB before the callback.
  const int32_t p = PartitionForGroup("g", 3);
  EXPECT_EQ(topics_->GetPartition(kOffsetsTopic, p)->log().end_offset(), 5);
  auto applied = store_->Get(GroupLog::AppliedKey(p));
  ASSERT_TRUE(applied.ok() && applied->has_value());
  Open();
  ASSERT_EQ(loaded_.offsets.size(), 1u);
  EXPECT_EQ(loaded_.offsets.at({"g", "t", 0}).offset, 6);
  EXPECT_EQ(loaded_.groups.at("g"), meta);
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
}

// kill -9 after the log append but before the RocksDB write: the record is in the log only.
// Opening replays it.
TEST_F(GroupLogTest, RecordsInTheLogButNotInRocksDbAreReplayed) {
  Open();
  ASSERT_TRUE(AppendAndWait({Commit("g", 0, 1)}).ok());
  const int32_t p = PartitionForGroup("g", 3);
  // Append behind the GroupLog's back, as if the broker died before applying.
  std::string key = EncodeOffsetKey({"g", "t", 0});
  std::string value = EncodeOffsetValue({.offset = 99, .metadata = "late"});
  RecordToAppend r{.key = key, .value = value};
  ASSERT_TRUE(topics_->GetPartition(kOffsetsTopic, p)->log().Append({r}).ok());
  Open();
  EXPECT_EQ(loaded_.offsets.at({"g", "t", 0}).offset, 99);
  ASSERT_FALSE(warnings_.empty());
  EXPECT_NE(warnings_[0].find("replayed 1 group records"), std::string::npos) << warnings_[0];
  // And it is now applied: the next open replays nothing.
  Open();
  EXPECT_EQ(loaded_.offsets.at({"g", "t", 0}).offset, 99);
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(GroupLogTest, AppendsCompleteInOrderUnderConcurrency) {
  Open();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::promise<absl::Status> done;
        log_->Append({Commit("group-" + std::to_string(t), 0, i)},
                     [&](absl::Status s) { done.set_value(s); });
        if (done.get_future().get().ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 200);
  Open();
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(loaded_.offsets.at({"group-" + std::to_string(t), "t", 0}).offset, 49);
  }
}

TEST_F(GroupLogTest, StopDrainsQueuedAppends) {
  Open();
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i) {
    log_->Append({Commit("g", 0, i)}, [&](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      ++done;
    });
  }
  log_->Stop();
  EXPECT_EQ(done, 20);
  Open();
  EXPECT_EQ(loaded_.offsets.at({"g", "t", 0}).offset, 19);
}

}  // namespace
}  // namespace varve::broker::group
