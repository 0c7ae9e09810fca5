#include "broker/metadata_store.h"

#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"

namespace varve::broker {
namespace {

TEST(MetadataStoreTest, TopicsAndClusterIdSurviveReopen) {
  TempDir dir;
  std::string cluster;
  {
    auto store = MetadataStore::Open(dir.Sub("meta"));
    ASSERT_TRUE(store.ok()) << store.status();
    cluster = (*store)->cluster_id();
    EXPECT_EQ(cluster.size(), 22u);
    TopicRecord t{.name = "orders", .partitions = 6, .created_ms = 123};
    t.topic_id[0] = 7;
    t.configs = {{"retention.ms", "1000"}, {"segment.bytes", "4096"}};
    ASSERT_TRUE((*store)->PutTopic(t).ok());
    ASSERT_TRUE((*store)->PutTopic({.name = "a", .partitions = 1}).ok());
  }
  auto store = MetadataStore::Open(dir.Sub("meta"));
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->cluster_id(), cluster);
  auto topics = (*store)->ListTopics();
  ASSERT_TRUE(topics.ok());
  ASSERT_EQ(topics->size(), 2u);
  EXPECT_EQ((*topics)[0].name, "a");
  const TopicRecord& orders = (*topics)[1];
  EXPECT_EQ(orders.name, "orders");
  EXPECT_EQ(orders.partitions, 6);
  EXPECT_EQ(orders.created_ms, 123);
  EXPECT_EQ(orders.topic_id[0], 7);
  EXPECT_EQ(orders.configs.at("retention.ms"), "1000");
  EXPECT_EQ(orders.configs.at("segment.bytes"), "4096");
}

TEST(MetadataStoreTest, DeletionIsTwoStepsAndPendingOnesAreListed) {
  TempDir dir;
  auto store = MetadataStore::Open(dir.Sub("meta"));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->PutTopic({.name = "x", .partitions = 2}).ok());
  ASSERT_TRUE((*store)->MarkTopicDeleting("x").ok());
  EXPECT_EQ(*(*store)->TopicsBeingDeleted(), std::vector<std::string>{"x"});
  ASSERT_TRUE((*store)->FinishTopicDelete("x").ok());
  EXPECT_TRUE((*store)->TopicsBeingDeleted()->empty());
  EXPECT_TRUE((*store)->ListTopics()->empty());
}

TEST(MetadataStoreTest, ProducerIdsKeepIncreasingAcrossReopens) {
  TempDir dir;
  int64_t last = -1;
  for (int round = 0; round < 3; ++round) {
    auto store = MetadataStore::Open(dir.Sub("meta"));
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 5; ++i) {
      auto id = (*store)->AllocateProducerId();
      ASSERT_TRUE(id.ok());
      EXPECT_GT(*id, last);
      last = *id;
    }
  }
  EXPECT_EQ(last, 14);
}

TEST(MetadataStoreTest, ASecondOpenOfTheSameDirectoryFails) {
  TempDir dir;
  auto first = MetadataStore::Open(dir.Sub("meta"));
  ASSERT_TRUE(first.ok());
  auto second = MetadataStore::Open(dir.Sub("meta"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
}

TEST(MetadataStoreTest, ACorruptTopicRecordIsDataLossNamingTheTopic) {
  TempDir dir;
  auto store = MetadataStore::Open(dir.Sub("meta"));
  ASSERT_TRUE(store.ok());
  rocksdb::WriteBatch batch;
  batch.Put("topic/broken", std::string("\x01\x00\x00", 3));
  ASSERT_TRUE((*store)->Write(&batch, true).ok());
  auto topics = (*store)->ListTopics();
  ASSERT_FALSE(topics.ok());
  EXPECT_EQ(topics.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(topics.status().message().find("\"broken\""), absl::string_view::npos);
  std::string truncated = MetadataStore::EncodeTopic({.name = "t", .configs = {{"a", "b"}}});
  for (size_t n = 0; n < truncated.size(); ++n) {
    EXPECT_FALSE(MetadataStore::DecodeTopic("t", truncated.substr(0, n)).ok()) << n;
  }
  EXPECT_TRUE(MetadataStore::DecodeTopic("t", truncated).ok());
}

}  // namespace
}  // namespace varve::broker
