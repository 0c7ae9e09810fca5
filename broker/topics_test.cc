#include "broker/topics.h"

#include <filesystem>

#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"

namespace varve::broker {
namespace {

class TopicsTest : public ::testing::Test {
 protected:
  void Open() {
    topics_.reset();
    store_.reset();
    config_.data_dir = dir_.Sub("data");
    std::filesystem::create_directories(config_.data_dir);
    auto store = MetadataStore::Open(dir_.Sub("data/metadata.rocksdb"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto topics = TopicManager::Open(config_, store_.get());
    ASSERT_TRUE(topics.ok()) << topics.status();
    topics_ = std::move(*topics);
  }
  TempDir dir_;
  BrokerConfig config_;
  std::unique_ptr<MetadataStore> store_;
  std::unique_ptr<TopicManager> topics_;
};

TEST_F(TopicsTest, CreateListGetAndReopen) {
  Open();
  ASSERT_TRUE(topics_->Create("orders", 3, 1, {{"retention.ms", "60000"}}, false).ok());
  ASSERT_TRUE(topics_->Create("defaults", -1, -1, {}, false).ok());
  EXPECT_EQ(topics_->List().size(), 2u);
  auto orders = topics_->Get("orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->partitions.size(), 3u);
  EXPECT_EQ(orders->config.retention_ms, 60000);
  EXPECT_EQ(topics_->Get("defaults")->partitions.size(), 1u);
  ASSERT_NE(topics_->GetPartition("orders", 2), nullptr);
  EXPECT_EQ(topics_->GetPartition("orders", 3), nullptr);
  EXPECT_EQ(topics_->GetPartition("nope", 0), nullptr);
  RecordToAppend r[] = {{.value = "x"}};
  ASSERT_TRUE(topics_->GetPartition("orders", 1)->log().Append(r).ok());
  ASSERT_TRUE(topics_->Close().ok());
  Open();
  orders = topics_->Get("orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->config.retention_ms, 60000);
  EXPECT_EQ(topics_->GetPartition("orders", 1)->log().end_offset(), 1);
  EXPECT_TRUE(topics_->warnings().empty());
}

TEST_F(TopicsTest, CreateErrorsUseKafkasCodes) {
  Open();
  EXPECT_EQ(topics_->Create("bad/name", 1, 1, {}, false).code, kInvalidTopicException);
  EXPECT_EQ(topics_->Create("..", 1, 1, {}, false).code, kInvalidTopicException);
  EXPECT_EQ(topics_->Create("t", 0, 1, {}, false).code, kInvalidPartitions);
  EXPECT_EQ(topics_->Create("t", 1, 3, {}, false).code, kInvalidReplicationFactor);
  EXPECT_EQ(topics_->Create("t", 1, 1, {{"retention.ms", "soon"}}, false).code, kInvalidConfig);
  EXPECT_EQ(topics_->Create("t", 1, 1, {{"no.such.config", "1"}}, false).code, kInvalidConfig);
  TopicError compact = topics_->Create("t", 1, 1, {{"cleanup.policy", "compact"}}, false);
  EXPECT_EQ(compact.code, kInvalidConfig);
  EXPECT_NE(compact.message.find("not supported"), std::string::npos);
  EXPECT_TRUE(topics_->Create("t", 1, 1, {{"cleanup.policy", "delete"}}, true).ok());
  EXPECT_EQ(topics_->Get("t"), nullptr);  // validate_only created nothing
  EXPECT_TRUE(topics_->Create("t", 1, 1, {}, false).ok());
  EXPECT_EQ(topics_->Create("t", 1, 1, {}, false).code, kTopicAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(config_.data_dir + "/bad"));
}

TEST_F(TopicsTest, DeleteRemovesLogsAndRecordAndHoldersKeepAClosedLog) {
  Open();
  ASSERT_TRUE(topics_->Create("gone", 2, 1, {}, false).ok());
  auto held = topics_->GetPartition("gone", 0);
  ASSERT_TRUE(topics_->Delete("gone").ok());
  EXPECT_EQ(topics_->Get("gone"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(config_.data_dir + "/gone-0"));
  RecordToAppend r[] = {{.value = "x"}};
  EXPECT_FALSE(held->log().Append(r).ok());
  EXPECT_EQ(topics_->Delete("gone").code, kUnknownTopicOrPartition);
  ASSERT_TRUE(topics_->Close().ok());
  Open();
  EXPECT_EQ(topics_->Get("gone"), nullptr);
  // The name can be used again.
  EXPECT_TRUE(topics_->Create("gone", 1, 1, {}, false).ok());
}

TEST_F(TopicsTest, AnInterruptedDeletionIsFinishedAtStart) {
  Open();
  ASSERT_TRUE(topics_->Create("half", 1, 1, {}, false).ok());
  ASSERT_TRUE(store_->MarkTopicDeleting("half").ok());  // crash right after marking
  ASSERT_TRUE(topics_->Close().ok());
  Open();
  EXPECT_EQ(topics_->Get("half"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(config_.data_dir + "/half-0"));
  EXPECT_TRUE(store_->TopicsBeingDeleted()->empty());
}

TEST_F(TopicsTest, UnknownPartitionDirectoriesAreAdoptedNotDeleted) {
  Open();
  ASSERT_TRUE(topics_->Close().ok());
  topics_.reset();
  {
    auto log = Log::Open(config_.data_dir + "/stray-1", LogOptions());
    ASSERT_TRUE(log.ok());
    RecordToAppend r[] = {{.value = "keep me"}};
    ASSERT_TRUE((*log)->Append(r).ok());
  }
  Open();
  auto stray = topics_->Get("stray");
  ASSERT_NE(stray, nullptr);
  EXPECT_EQ(stray->partitions.size(), 2u);
  EXPECT_EQ(topics_->GetPartition("stray", 1)->log().end_offset(), 1);
  ASSERT_EQ(topics_->warnings().size(), 1u);
  EXPECT_NE(topics_->warnings()[0].find("adopted"), std::string::npos);
}

TEST_F(TopicsTest, ProducerStateSurvivesACleanRestart) {
  Open();
  ASSERT_TRUE(topics_->Create("idem", 1, 1, {}, false).ok());
  auto partition = topics_->GetPartition("idem", 0);
  BatchBuilder::Options o;
  o.producer_id = 42;
  o.producer_epoch = 0;
  o.base_sequence = 0;
  BatchBuilder builder(o);
  builder.Add(1, std::nullopt, "v");
  std::string batch = builder.Build();
  {
    std::lock_guard lock(partition->produce_mu());
    BatchHeader h = DecodeBatchHeader(batch.data());
    ASSERT_EQ(partition->producers().Check(h).kind, ProducerStateTable::Verdict::kAppend);
    auto info = partition->log().AppendBatch(absl::MakeSpan(batch));
    ASSERT_TRUE(info.ok());
    h.base_offset = info->base_offset;
    partition->producers().Record(h);
  }
  partition.reset();
  ASSERT_TRUE(topics_->Close().ok());
  Open();
  partition = topics_->GetPartition("idem", 0);
  std::lock_guard lock(partition->produce_mu());
  EXPECT_EQ(partition->producers().Check(DecodeBatchHeader(batch.data())).kind,
            ProducerStateTable::Verdict::kDuplicate);
}

TEST_F(TopicsTest, WaitersRunOnceAfterTheNextAppendUnlessTheirOwnerIsGone) {
  Open();
  ASSERT_TRUE(topics_->Create("w", 1, 1, {}, false).ok());
  auto partition = topics_->GetPartition("w", 0);
  auto owner = std::make_shared<int>(0);
  int calls = 0, dropped_calls = 0;
  partition->WaitForData(owner, [&] { ++calls; });
  {
    auto gone = std::make_shared<int>(0);
    partition->WaitForData(gone, [&] { ++dropped_calls; });
  }
  partition->NotifyAppended();
  partition->NotifyAppended();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(dropped_calls, 0);
}

}  // namespace
}  // namespace varve::broker
