// DeleteRecords (API 21) end to end: through the codec for every rule, and (in
// delete_records_rdkafka_test) through librdkafka's admin API, an unmodified real client.

#ifdef VARVE_TEST_WITH_RDKAFKA
#include <librdkafka/rdkafka.h>
#endif

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "broker/errors.h"
#include "broker/protocol/generated/delete_records_request.h"
#include "broker/protocol/generated/delete_records_response.h"
#include "broker/protocol/generated/fetch_request.h"
#include "broker/protocol/generated/fetch_response.h"
#include "broker/protocol/generated/produce_request.h"
#include "broker/protocol/generated/produce_response.h"
#include "broker/testing/broker_fixture.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"

namespace varve::broker {
namespace {

using namespace protocol;  // NOLINT: the message types

constexpr int16_t kProduce = 0, kFetch = 1, kDeleteRecords = 21;

class DeleteRecordsTest : public BrokerFixture {
 protected:
  // A topic with tiny segments (so deletion removes whole segments) and `batches` batches of
  // 5 records each.
  void CreateAndFill(KafkaClient& c, const std::string& name, int batches) {
    CreateTopic(c, name, 1, {{"segment.bytes", "1024"}});
    for (int i = 0; i < batches; ++i) {
      BatchBuilder b(BatchBuilder::Options{});
      // Current timestamps: time retention (7 days) runs with the deletion too.
      const int64_t now = absl::ToUnixMillis(absl::Now());
      for (int k = 0; k < 5; ++k) b.Add(now, "k", std::string(100, 'v'));
      std::string batch = b.Build();
      ProduceRequest p;
      p.acks = 1;
      p.timeout_ms = 10000;
      auto& td = p.topic_data.emplace_back();
      td.name = name;
      auto& pd = td.partition_data.emplace_back();
      pd.index = 0;
      pd.records = Records::View(absl::MakeSpan(batch));
      auto produced = c.Call<ProduceResponse>(kProduce, 7, p);
      ASSERT_TRUE(produced.ok()) << produced.status();
      ASSERT_EQ(produced->responses[0].partition_responses[0].error_code, kNone);
    }
  }
  DeleteRecordsResponse::DeleteRecordsPartitionResult Delete(KafkaClient& c,
                                                             const std::string& topic,
                                                             int32_t partition, int64_t offset,
                                                             int16_t version = 2) {
    DeleteRecordsRequest r;
    auto& t = r.topics.emplace_back();
    t.name = topic;
    auto& p = t.partitions.emplace_back();
    p.partition_index = partition;
    p.offset = offset;
    r.timeout_ms = 10000;
    auto resp = c.Call<DeleteRecordsResponse>(kDeleteRecords, version, r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    if (!resp.ok()) return {};
    EXPECT_EQ(resp->topics.size(), 1u);
    EXPECT_EQ(resp->topics[0].name, topic);
    return resp->topics[0].partitions.at(0);
  }
  int64_t Earliest(KafkaClient& c, const std::string& topic) {
    return ListOffsetsAt(c, topic, -2).offset;
  }
  int16_t FetchError(KafkaClient& c, const std::string& topic, int64_t offset) {
    FetchRequest r;
    r.replica_id = -1;
    r.max_wait_ms = 0;
    r.min_bytes = 1;
    r.max_bytes = 1 << 20;
    r.session_epoch = -1;
    auto& t = r.topics.emplace_back();
    t.topic = topic;
    auto& p = t.partitions.emplace_back();
    p.partition = 0;
    p.current_leader_epoch = -1;
    p.fetch_offset = offset;
    p.log_start_offset = -1;
    p.partition_max_bytes = 1 << 20;
    auto resp = c.Call<FetchResponse>(kFetch, 11, r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->responses[0].partitions[0].error_code : -100;
  }
};

TEST_F(DeleteRecordsTest, RaisesTheLogStartAtEveryVersionAndDeletesWholeSegments) {
  KafkaClient c = Connect();
  CreateAndFill(c, "dr", 20);  // offsets 0..99, one ~600-byte batch per 1 KiB segment
  const size_t segments_before =
      broker_->topics().GetPartition("dr", 0)->log().SegmentBaseOffsets().size();
  auto r0 = Delete(c, "dr", 0, 12, /*version=*/0);
  EXPECT_EQ(r0.error_code, kNone);
  EXPECT_EQ(r0.low_watermark, 12);
  auto r1 = Delete(c, "dr", 0, 30, /*version=*/1);
  EXPECT_EQ(r1.error_code, kNone);
  EXPECT_EQ(r1.low_watermark, 30);
  EXPECT_EQ(Earliest(c, "dr"), 30);
  EXPECT_EQ(FetchError(c, "dr", 29), kOffsetOutOfRange);
  EXPECT_EQ(FetchError(c, "dr", 30), kNone);
  EXPECT_LT(broker_->topics().GetPartition("dr", 0)->log().SegmentBaseOffsets().size(),
            segments_before);
  // Lower than the current start: nothing changes, the answer is the current start.
  auto lower = Delete(c, "dr", 0, 3);
  EXPECT_EQ(lower.error_code, kNone);
  EXPECT_EQ(lower.low_watermark, 30);
}

TEST_F(DeleteRecordsTest, MinusOneMeansTheHighWatermark) {
  KafkaClient c = Connect();
  CreateAndFill(c, "hw", 4);
  auto r = Delete(c, "hw", 0, -1);
  EXPECT_EQ(r.error_code, kNone);
  EXPECT_EQ(r.low_watermark, 20);
  EXPECT_EQ(Earliest(c, "hw"), 20);
}

TEST_F(DeleteRecordsTest, ErrorsUseKafkasCodes) {
  KafkaClient c = Connect();
  CreateAndFill(c, "e", 2);
  EXPECT_EQ(Delete(c, "e", 0, 11).error_code, kOffsetOutOfRange);  // above the HW (10)
  EXPECT_EQ(Delete(c, "e", 0, -2).error_code, kOffsetOutOfRange);
  EXPECT_EQ(Delete(c, "e", 1, 0).error_code, kUnknownTopicOrPartition);
  EXPECT_EQ(Delete(c, "nope", 0, 0).error_code, kUnknownTopicOrPartition);
  EXPECT_EQ(Delete(c, "__consumer_offsets", 0, 0).error_code, kInvalidTopicException);
  EXPECT_EQ(Earliest(c, "e"), 0);
}

TEST_F(DeleteRecordsTest, TheNewStartSurvivesARestart) {
  KafkaClient c = Connect();
  CreateAndFill(c, "keep", 10);
  ASSERT_EQ(Delete(c, "keep", 0, 17).low_watermark, 17);
  Restart();
  KafkaClient c2 = Connect();
  EXPECT_EQ(Earliest(c2, "keep"), 17);
  EXPECT_EQ(FetchError(c2, "keep", 16), kOffsetOutOfRange);
}

#ifdef VARVE_TEST_WITH_RDKAFKA
// librdkafka 2.0.2's admin API, unmodified: DeleteRecords, then its watermark query. (Built
// only into delete_records_rdkafka_test: librdkafka crashes under TSan's runtime.)
TEST_F(DeleteRecordsTest, LibrdkafkaAdminDeleteRecords) {
  {
    KafkaClient c = Connect();
    CreateAndFill(c, "rk", 6);  // offsets 0..29
  }
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::string servers = "127.0.0.1:" + std::to_string(broker_->port());
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", servers.c_str(), err, sizeof err),
            RD_KAFKA_CONF_OK)
      << err;
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offsets, "rk", 0)->offset = 13;
  rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(offsets);
  rd_kafka_topic_partition_list_destroy(offsets);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETERECORDS);
  ASSERT_EQ(rd_kafka_AdminOptions_set_request_timeout(opts, 30000, err, sizeof err),
            RD_KAFKA_RESP_ERR_NO_ERROR)
      << err;
  rd_kafka_DeleteRecords(rk, &del, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 60000);
  ASSERT_NE(ev, nullptr) << "no DeleteRecords result within 60 s";
  EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_event_error_string(ev);
  const rd_kafka_DeleteRecords_result_t* res = rd_kafka_event_DeleteRecords_result(ev);
  ASSERT_NE(res, nullptr);
  const rd_kafka_topic_partition_list_t* result = rd_kafka_DeleteRecords_result_offsets(res);
  ASSERT_EQ(result->cnt, 1);
  EXPECT_EQ(result->elems[0].err, RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_err2str(result->elems[0].err);
  EXPECT_EQ(result->elems[0].offset, 13);  // the new low watermark
  rd_kafka_event_destroy(ev);
  int64_t low = -1, high = -1;
  EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, "rk", 0, &low, &high, 30000),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(low, 13);
  EXPECT_EQ(high, 30);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_DeleteRecords_destroy(del);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
}
#endif  // VARVE_TEST_WITH_RDKAFKA

}  // namespace
}  // namespace varve::broker
