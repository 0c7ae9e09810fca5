#include "broker/group/group_log.h"

#include <chrono>
#include <future>
#include <map>
#include <thread>
#include <tuple>

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
    auto log = GroupLog::Open(topics_.get(), store_.get(), options_, &loaded_, &warnings_);
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
  GroupLog::Options options_ = [] {
    GroupLog::Options o;
    o.num_partitions = 3;
    return o;
  }();
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

// What a fresh replica would rebuild: every record of the partition from its log start.
struct Replayed {
  std::map<std::tuple<std::string, std::string, int32_t>, int64_t> offsets;
  std::map<std::string, int32_t> generations;
};
Replayed ReplayFromStart(Log& log) {
  Replayed out;
  LogReader reader = log.NewReader(log.start_offset(), log.end_offset());
  RecordView record;
  while (reader.NextRecord(&record)) {
    if (!record.key) continue;
    absl::StatusOr<CoordinatorRecord> r = DecodeRecord(*record.key, record.value);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) break;
    if (const auto* o = std::get_if<OffsetRecord>(&*r)) {
      auto key = std::make_tuple(o->key.group, o->key.topic, o->key.partition);
      if (o->value) {
        out.offsets[key] = o->value->offset;
      } else {
        out.offsets.erase(key);
      }
    } else {
      const auto& g = std::get<GroupRecord>(*r);
      if (g.value) {
        out.generations[g.group] = g.value->generation;
      } else {
        out.generations.erase(g.group);
      }
    }
  }
  EXPECT_TRUE(reader.status().ok()) << reader.status();
  return out;
}

TEST_F(GroupLogTest, CompactRewritesTheLiveStateAndDropsTheRest) {
  options_.num_partitions = 1;
  options_.segment_bytes = 4096;
  options_.compact_min_garbage_bytes = 16 << 10;
  Open();
  Log& log = topics_->GetPartition(kOffsetsTopic, 0)->log();
  EXPECT_EQ(log.config().segment_bytes, 4096);
  // Not worth it yet.
  ASSERT_TRUE(AppendAndWait({Commit("g", 0, 1)}).ok());
  ASSERT_EQ(*log_->Compact(), 0);
  // 600 commits over 4 keys, a group record, and a group that is deleted again.
  for (int i = 0; i < 600; ++i) ASSERT_TRUE(AppendAndWait({Commit("g", i % 4, i)}).ok());
  GroupMetadataRecord meta{.protocol_type = "consumer", .generation = 9, .protocol = "range"};
  ASSERT_TRUE(AppendAndWait({GroupRecord{.group = "g", .value = meta}}).ok());
  ASSERT_TRUE(AppendAndWait({Commit("gone", 0, 5)}).ok());
  ASSERT_TRUE(AppendAndWait({OffsetRecord{.key = {"gone", "t", 0}, .value = std::nullopt}}).ok());
  const int64_t size_before = log.SizeBytes();
  const int64_t end_before = log.end_offset();
  ASSERT_GT(size_before, 32 << 10);

  absl::StatusOr<int> rewritten = log_->Compact();
  ASSERT_TRUE(rewritten.ok()) << rewritten.status();
  EXPECT_EQ(*rewritten, 1);
  // The new start is set once the rewrite is applied (bounded wait, not a timing assertion).
  for (int i = 0; i < 3000 && log.start_offset() < end_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(log.start_offset(), end_before);
  EXPECT_LT(log.SizeBytes(), size_before / 4);
  // Appends go on after the rewrite.
  ASSERT_TRUE(AppendAndWait({Commit("g", 1, 1000)}).ok());

  Replayed replayed = ReplayFromStart(log);
  const std::map<std::tuple<std::string, std::string, int32_t>, int64_t> want = {
      {{"g", "t", 0}, 596}, {{"g", "t", 1}, 1000}, {{"g", "t", 2}, 598}, {{"g", "t", 3}, 599}};
  EXPECT_EQ(replayed.offsets, want);
  EXPECT_EQ(replayed.generations, (std::map<std::string, int32_t>{{"g", 9}}));

  // The broker's own state is unchanged by the rewrite, across a reopen too.
  Open();
  EXPECT_EQ(loaded_.offsets.size(), 4u);
  EXPECT_EQ(loaded_.offsets[(OffsetKey{"g", "t", 1})].offset, 1000);
  EXPECT_EQ(loaded_.offsets[(OffsetKey{"g", "t", 0})].offset, 596);
  EXPECT_EQ(loaded_.groups["g"].generation, 9);
  for (const std::string& w : warnings_) {
    EXPECT_EQ(w.find("deleted before being applied"), std::string::npos) << w;
  }
  // Freshly opened, the partition is not rewritten again until it grows.
  EXPECT_EQ(*log_->Compact(), 0);
}

TEST_F(GroupLogTest, CompactOfAPartitionWithNothingLiveDropsEverything) {
  options_.num_partitions = 1;
  options_.segment_bytes = 4096;
  options_.compact_min_garbage_bytes = 8 << 10;
  Open();
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(AppendAndWait({Commit("tmp", 0, i)}).ok());
  }
  ASSERT_TRUE(AppendAndWait({OffsetRecord{.key = {"tmp", "t", 0}, .value = std::nullopt}}).ok());
  Log& log = topics_->GetPartition(kOffsetsTopic, 0)->log();
  const int64_t end = log.end_offset();
  ASSERT_EQ(*log_->Compact(), 1);
  EXPECT_EQ(log.start_offset(), end);
  EXPECT_TRUE(ReplayFromStart(log).offsets.empty());
}

}  // namespace
}  // namespace varve::broker::group
