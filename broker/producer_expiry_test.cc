// Idempotent producers are forgotten by a running broker when their last batch is older than
// producer.id.expiration.ms, or below the log start offset (Kafka's rules): their next batch
// is then accepted with any sequence number, while a known producer's gap is still refused.

#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "broker/errors.h"
#include "broker/protocol/generated/delete_records_request.h"
#include "broker/protocol/generated/delete_records_response.h"
#include "broker/protocol/generated/init_producer_id_request.h"
#include "broker/protocol/generated/init_producer_id_response.h"
#include "broker/protocol/generated/produce_request.h"
#include "broker/protocol/generated/produce_response.h"
#include "broker/testing/broker_fixture.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"

namespace varve::broker {
namespace {

using namespace protocol;  // NOLINT: the message types

constexpr int16_t kProduce = 0, kDeleteRecords = 21, kInitProducerId = 22;

class ProducerExpiryTest : public BrokerFixture {
 protected:
  void SetUp() override {
    config_.producer_id_expiration_ms = 60 * 1000;
    config_.producer_id_expiration_check_interval_ms = 20;
    Start();
  }
  int64_t NewProducerId(KafkaClient& c) {
    InitProducerIdRequest r;
    r.transactional_id = std::nullopt;
    r.transaction_timeout_ms = 60000;
    auto resp = c.Call<InitProducerIdResponse>(kInitProducerId, 1, r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    EXPECT_EQ(resp->error_code, kNone);
    return resp->producer_id;
  }
  // Two records from producer `pid` (epoch 0) starting at `seq`, stamped `timestamp_ms`.
  int16_t ProduceIdempotent(KafkaClient& c, int64_t pid, int32_t seq, int64_t timestamp_ms) {
    BatchBuilder::Options o;
    o.producer_id = pid;
    o.producer_epoch = 0;
    o.base_sequence = seq;
    BatchBuilder b(o);
    b.Add(timestamp_ms, "k", "v1");
    b.Add(timestamp_ms, "k", "v2");
    std::string batch = b.Build();
    ProduceRequest p;
    p.acks = -1;
    p.timeout_ms = 10000;
    auto& t = p.topic_data.emplace_back();
    t.name = "t";
    auto& part = t.partition_data.emplace_back();
    part.index = 0;
    part.records = Records::View(absl::MakeSpan(batch));
    auto resp = c.Call<ProduceResponse>(kProduce, 7, p);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->responses[0].partition_responses[0].error_code : -100;
  }
  size_t KnownProducers() {
    auto partition = broker_->topics().GetPartition("t", 0);
    std::lock_guard lock(partition->produce_mu());
    return partition->producers().producer_count();
  }
  // Bounded wait for the broker's background check (not a timing assertion).
  bool WaitForKnownProducers(size_t n) {
    for (int i = 0; i < 3000; ++i) {
      if (KnownProducers() == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

TEST_F(ProducerExpiryTest, OldProducersAreForgottenAndMayStartAnywhere) {
  KafkaClient c = Connect();
  CreateTopic(c, "t");
  const int64_t now = absl::ToUnixMillis(absl::Now());
  const int64_t old_pid = NewProducerId(c);
  const int64_t live_pid = NewProducerId(c);
  ASSERT_EQ(ProduceIdempotent(c, old_pid, 0, now - 2 * 60 * 1000), kNone);  // 2 min old
  ASSERT_EQ(ProduceIdempotent(c, live_pid, 0, now), kNone);
  ASSERT_TRUE(WaitForKnownProducers(1)) << KnownProducers() << " producers still known";
  // The expired producer is unknown now: a batch at sequence 10 is new data.
  EXPECT_EQ(ProduceIdempotent(c, old_pid, 10, now), kNone);
  // The live one is still checked: a gap is refused.
  EXPECT_EQ(ProduceIdempotent(c, live_pid, 10, now), kOutOfOrderSequenceNumber);
  EXPECT_EQ(ProduceIdempotent(c, live_pid, 2, now), kNone);
}

TEST_F(ProducerExpiryTest, ProducersBelowTheLogStartAreForgotten) {
  KafkaClient c = Connect();
  CreateTopic(c, "t");
  const int64_t now = absl::ToUnixMillis(absl::Now());
  const int64_t pid = NewProducerId(c);
  ASSERT_EQ(ProduceIdempotent(c, pid, 0, now), kNone);  // offsets 0-1
  ASSERT_EQ(KnownProducers(), 1u);
  DeleteRecordsRequest r;
  auto& t = r.topics.emplace_back();
  t.name = "t";
  t.partitions.push_back({0, -1});  // everything below the high watermark
  r.timeout_ms = 10000;
  auto deleted = c.Call<DeleteRecordsResponse>(kDeleteRecords, 1, r);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_EQ(deleted->topics[0].partitions[0].low_watermark, 2);
  ASSERT_TRUE(WaitForKnownProducers(0));
  EXPECT_EQ(ProduceIdempotent(c, pid, 7, now), kNone);
}

TEST_F(ProducerExpiryTest, ARestartDoesNotBringBackProducersBelowTheLogStart) {
  // No background check in this test: only the startup prune may forget the producer (with
  // the 20 ms check, the running broker could forget it first and hide a broken startup).
  ASSERT_TRUE(broker_->Stop().ok());
  broker_.reset();
  config_.producer_id_expiration_check_interval_ms = 3600 * 1000;
  Start();
  KafkaClient c = Connect();
  CreateTopic(c, "t");
  const int64_t now = absl::ToUnixMillis(absl::Now());
  const int64_t pid = NewProducerId(c);
  ASSERT_EQ(ProduceIdempotent(c, pid, 0, now), kNone);
  // The start moves past the batch; the clean stop snapshots the producer with it.
  auto partition = broker_->topics().GetPartition("t", 0);
  ASSERT_TRUE(partition->log().DeleteRecordsBefore(2).ok());
  EXPECT_EQ(KnownProducers(), 1u);
  partition.reset();
  Restart();
  EXPECT_EQ(KnownProducers(), 0u);
}

}  // namespace
}  // namespace varve::broker
