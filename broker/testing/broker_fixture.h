#pragma once

// A gtest fixture that runs a Broker in the test process on 127.0.0.1 (a free port, data in a
// temporary directory, metrics off) and talks to it with KafkaClient. Tests adjust config_ in
// SetUp before calling Start(), or stop and Start() again.
//
// Example:
//   class MyTest : public BrokerFixture {};
//   TEST_F(MyTest, X) {
//     KafkaClient c = Connect();
//     CreateTopic(c, "t", 2, {{"segment.bytes", "1024"}});
//     Restart();  // same port and data
//   }

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/temp_dir.h"
#include "broker/broker.h"
#include "broker/errors.h"
#include "broker/protocol/generated/create_topics_request.h"
#include "broker/protocol/generated/create_topics_response.h"
#include "broker/protocol/generated/list_offsets_request.h"
#include "broker/protocol/generated/list_offsets_response.h"
#include "broker/testing/kafka_client.h"
#include "gtest/gtest.h"

namespace varve::broker {

class BrokerFixture : public ::testing::Test {
 protected:
  BrokerFixture() {
    config_.metrics_port = -1;
    config_.offsets_topic_num_partitions = 1;  // the internal __consumer_offsets topic
  }
  void SetUp() override { Start(); }
  void TearDown() override {
    if (broker_) {
      absl::Status stopped = broker_->Stop();
      EXPECT_TRUE(stopped.ok()) << stopped;
    }
  }
  void Start(int port = 0) {
    config_.listener = {"127.0.0.1", port};
    config_.data_dir = dir_.Sub("data");
    auto broker = Broker::Start(config_);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
  }
  // Stops cleanly and starts again on the same port and data directory.
  void Restart() {
    const int port = broker_->port();
    ASSERT_TRUE(broker_->Stop().ok());
    broker_.reset();
    Start(port);
  }
  KafkaClient Connect() {
    auto c = KafkaClient::Connect(broker_->port());
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  // CreateTopics v4 with replication factor 1; fails the test unless it succeeds.
  void CreateTopic(KafkaClient& c, const std::string& name, int partitions = 1,
                   const std::vector<std::pair<std::string, std::string>>& configs = {}) {
    protocol::CreateTopicsRequest r;
    auto& t = r.topics.emplace_back();
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = 1;
    for (const auto& [key, value] : configs) {
      auto& cfg = t.configs.emplace_back();
      cfg.name = key;
      cfg.value = value;
    }
    r.timeout_ms = 10000;
    auto resp = c.Call<protocol::CreateTopicsResponse>(/*CreateTopics*/ 19, 4, r);
    ASSERT_TRUE(resp.ok()) << resp.status();
    ASSERT_EQ(resp->topics[0].error_code, kNone) << resp->topics[0].error_message.value_or("");
  }

  // ListOffsets for partition 0 of `topic` at `timestamp` (-1 latest, -2 earliest).
  protocol::ListOffsetsResponse::ListOffsetsPartitionResponse ListOffsetsAt(
      KafkaClient& c, const std::string& topic, int64_t timestamp, int16_t version = 5) {
    protocol::ListOffsetsRequest r;
    r.replica_id = -1;
    auto& t = r.topics.emplace_back();
    t.name = topic;
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.current_leader_epoch = -1;
    p.timestamp = timestamp;
    auto resp = c.Call<protocol::ListOffsetsResponse>(/*ListOffsets*/ 2, version, r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    if (!resp.ok()) return {};
    return resp->topics[0].partitions[0];
  }

  TempDir dir_;
  BrokerConfig config_;
  std::unique_ptr<Broker> broker_;
};

}  // namespace varve::broker
