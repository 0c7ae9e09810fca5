// The broker end to end over real sockets, with the codec as the client: each API's behaviour
// and the protocol rules real clients depend on (reference §4, §7).

#include "broker/broker.h"

#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

#include "broker/errors.h"
#include "broker/protocol/generated/api_versions_request.h"
#include "broker/protocol/generated/api_versions_response.h"
#include "broker/protocol/generated/create_topics_request.h"
#include "broker/protocol/generated/create_topics_response.h"
#include "broker/protocol/generated/delete_topics_request.h"
#include "broker/protocol/generated/delete_topics_response.h"
#include "broker/protocol/generated/describe_configs_request.h"
#include "broker/protocol/generated/describe_configs_response.h"
#include "broker/protocol/generated/fetch_request.h"
#include "broker/protocol/generated/fetch_response.h"
#include "broker/protocol/generated/init_producer_id_request.h"
#include "broker/protocol/generated/init_producer_id_response.h"
#include "broker/protocol/generated/list_offsets_request.h"
#include "broker/protocol/generated/list_offsets_response.h"
#include "broker/protocol/generated/metadata_request.h"
#include "broker/protocol/generated/metadata_response.h"
#include "broker/protocol/generated/produce_request.h"
#include "broker/protocol/generated/produce_response.h"
#include "broker/testing/broker_fixture.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"
#include "log/compression/test_codecs.h"
#include "log/crc32c.h"
#include "log/flusher.h"

namespace varve::broker {
namespace {

using namespace protocol;  // NOLINT: the message types

constexpr int16_t kProduce = 0, kFetch = 1, kListOffsets = 2, kMetadata = 3, kApiVersions = 18,
                  kCreateTopics = 19, kDeleteTopics = 20, kInitProducerId = 22,
                  kDescribeConfigs = 32;

std::string MakeBatch(int n, int64_t first_ts = 1000, int64_t pid = -1, int32_t seq = -1,
                      const std::string& prefix = "value-") {
  BatchBuilder::Options o;
  o.producer_id = pid;
  o.producer_epoch = pid >= 0 ? 0 : -1;
  o.base_sequence = seq;
  BatchBuilder b(o);
  for (int i = 0; i < n; ++i)
    b.Add(first_ts + i, "key-" + std::to_string(i), prefix + std::to_string(i));
  return b.Build();
}

ProduceRequest Produce(const std::string& topic, int32_t partition, std::string* batch,
                       int16_t acks = 1) {
  ProduceRequest r;
  r.acks = acks;
  r.timeout_ms = 30000;
  auto& t = r.topic_data.emplace_back();
  t.name = topic;
  auto& p = t.partition_data.emplace_back();
  p.index = partition;
  p.records = Records::View(absl::MakeSpan(*batch));
  return r;
}

FetchRequest Fetch(const std::string& topic, int32_t partition, int64_t offset,
                   int32_t max_wait_ms = 0, int32_t min_bytes = 1) {
  FetchRequest r;
  r.replica_id = -1;
  r.max_wait_ms = max_wait_ms;
  r.min_bytes = min_bytes;
  r.max_bytes = 50 << 20;
  r.isolation_level = 1;
  r.session_id = 0;
  r.session_epoch = -1;
  auto& t = r.topics.emplace_back();
  t.topic = topic;
  auto& p = t.partitions.emplace_back();
  p.partition = partition;
  p.current_leader_epoch = -1;
  p.fetch_offset = offset;
  p.log_start_offset = -1;
  p.partition_max_bytes = 1 << 20;
  return r;
}

std::string RecordsBytes(const Records& r) { return std::string(r.data().data(), r.data().size()); }

InitProducerIdRequest IdempotentInit() {
  InitProducerIdRequest r;
  r.transactional_id = std::nullopt;  // idempotent, not transactional
  r.transaction_timeout_ms = 60000;
  return r;
}

class BrokerTest : public BrokerFixture {
 protected:
  BrokerTest() { config_.metrics_port = 0; }  // MetricsCountRequestsErrorsBytesAndOffsets
  ProduceResponse::PartitionProduceResponse ProduceOne(KafkaClient& c, const std::string& topic,
                                                       std::string batch, int16_t acks = 1) {
    auto resp = c.Call<ProduceResponse>(kProduce, 7, Produce(topic, 0, &batch, acks));
    EXPECT_TRUE(resp.ok()) << resp.status();
    if (!resp.ok()) return {};
    return resp->responses[0].partition_responses[0];
  }

  // GET /metrics from the broker's metrics port.
  std::string ScrapeMetrics() {
    auto conn = server::TestClient::Connect(broker_->metrics_port());
    EXPECT_TRUE(conn.ok());
    if (!conn.ok()) return "";
    EXPECT_TRUE(
        conn->SendRaw("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok());
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(conn->fd(), buf, sizeof buf)) > 0) text.append(buf, n);
    return text;
  }
};

TEST_F(BrokerTest, ApiVersionsAdvertisesTheReferenceRangesAtEveryVersion) {
  KafkaClient c = Connect();
  for (int16_t v : {0, 1, 2, 3}) {
    ApiVersionsRequest r;
    r.client_software_name = "varve-test";
    r.client_software_version = "1.0";
    auto resp = c.Call<ApiVersionsResponse>(kApiVersions, v, r);
    ASSERT_TRUE(resp.ok()) << "v" << v << ": " << resp.status();
    EXPECT_EQ(resp->error_code, kNone);
    std::map<int16_t, std::pair<int16_t, int16_t>> ranges;
    for (const auto& k : resp->api_keys) ranges[k.api_key] = {k.min_version, k.max_version};
    EXPECT_EQ(ranges[kProduce], std::make_pair(int16_t{3}, int16_t{7}));
    EXPECT_EQ(ranges[kFetch], std::make_pair(int16_t{4}, int16_t{11}));
    EXPECT_EQ(ranges[kMetadata], std::make_pair(int16_t{0}, int16_t{7}));
    EXPECT_EQ(ranges[kApiVersions], std::make_pair(int16_t{0}, int16_t{3}));
    EXPECT_EQ(ranges[21], std::make_pair(int16_t{0}, int16_t{2}));  // DeleteRecords
    // Group APIs keep librdkafka's feature overlap (reference §4.0).
    EXPECT_EQ(ranges[11], std::make_pair(int16_t{0}, int16_t{5}));
    EXPECT_EQ(ranges[8], std::make_pair(int16_t{2}, int16_t{7}));
    EXPECT_EQ(ranges[9], std::make_pair(int16_t{1}, int16_t{5}));
  }
}

TEST_F(BrokerTest, ApiVersionsAboveTheMaximumGetsTheKip511Fallback) {
  KafkaClient c = Connect();
  ApiVersionsRequest r;
  auto id = c.Send(kApiVersions, 4, r);
  ASSERT_TRUE(id.ok());
  // Answered with a v0 body and header.
  auto resp = c.Receive<ApiVersionsResponse>(kApiVersions, 0, *id);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->error_code, kUnsupportedVersion);
  ASSERT_EQ(resp->api_keys.size(), 1u);
  EXPECT_EQ(resp->api_keys[0].api_key, kApiVersions);
  EXPECT_EQ(resp->api_keys[0].max_version, 3);
}

TEST_F(BrokerTest, MetadataAutoCreatesNamedTopicsWithFullMetadataInTheSameResponse) {
  KafkaClient c = Connect();
  MetadataRequest r;
  r.topics.emplace().emplace_back().name = "auto";
  r.allow_auto_topic_creation = true;
  auto resp = c.Call<MetadataResponse>(kMetadata, 7, r);
  ASSERT_TRUE(resp.ok()) << resp.status();
  ASSERT_EQ(resp->brokers.size(), 1u);
  EXPECT_EQ(resp->brokers[0].port, broker_->port());
  EXPECT_EQ(resp->controller_id, 0);
  EXPECT_EQ(resp->cluster_id, broker_->cluster_id());
  ASSERT_EQ(resp->topics.size(), 1u);
  EXPECT_EQ(resp->topics[0].error_code, kNone);
  ASSERT_EQ(resp->topics[0].partitions.size(), 1u);
  EXPECT_EQ(resp->topics[0].partitions[0].leader_id, 0);
  EXPECT_EQ(resp->topics[0].partitions[0].isr_nodes, std::vector<int32_t>{0});

  // v4+ with AllowAutoTopicCreation=false (kcat's consumer): UNKNOWN_TOPIC_OR_PARTITION.
  MetadataRequest no_create;
  no_create.topics.emplace().emplace_back().name = "missing";
  no_create.allow_auto_topic_creation = false;
  resp = c.Call<MetadataResponse>(kMetadata, 4, no_create);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->topics[0].error_code, kUnknownTopicOrPartition);

  MetadataRequest bad;
  bad.topics.emplace().emplace_back().name = "no/slash";
  resp = c.Call<MetadataResponse>(kMetadata, 1, bad);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->topics[0].error_code, kInvalidTopicException);

  // v1 null = all topics (never creates); v1 empty = none; v0 empty = all.
  MetadataRequest all;
  all.topics = std::nullopt;
  resp = c.Call<MetadataResponse>(kMetadata, 1, all);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->topics.size(), 2u);  // and __consumer_offsets, internal
  for (const auto& t : resp->topics) EXPECT_EQ(t.is_internal, t.name == "__consumer_offsets");
  MetadataRequest none;
  none.topics.emplace();
  resp = c.Call<MetadataResponse>(kMetadata, 1, none);
  ASSERT_TRUE(resp.ok());
  EXPECT_TRUE(resp->topics.empty());
  resp = c.Call<MetadataResponse>(kMetadata, 0, none);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->topics.size(), 2u);
}

TEST_F(BrokerTest, ProducedBatchesAreFetchedByteIdenticalButForTheOffset) {
  KafkaClient c = Connect();
  CreateTopic(c, "t");
  std::string first = MakeBatch(3);
  std::string second = MakeBatch(2, 2000);
  auto r1 = ProduceOne(c, "t", first);
  EXPECT_EQ(r1.error_code, kNone);
  EXPECT_EQ(r1.base_offset, 0);
  EXPECT_EQ(r1.log_append_time_ms, -1);
  EXPECT_EQ(r1.log_start_offset, 0);
  auto r2 = ProduceOne(c, "t", second);
  EXPECT_EQ(r2.base_offset, 3);

  auto resp = c.Call<FetchResponse>(kFetch, 11, Fetch("t", 0, 4));
  ASSERT_TRUE(resp.ok()) << resp.status();
  const auto& p = resp->responses[0].partitions[0];
  EXPECT_EQ(p.error_code, kNone);
  EXPECT_EQ(p.high_watermark, 5);
  EXPECT_EQ(p.last_stable_offset, 5);
  EXPECT_EQ(p.log_start_offset, 0);
  EXPECT_EQ(p.preferred_read_replica, -1);
  ASSERT_TRUE(p.aborted_transactions.has_value());
  EXPECT_TRUE(p.aborted_transactions->empty());
  // The batch holding offset 4 starts at 3: returned whole (pitfall 14).
  std::string got = RecordsBytes(p.records);
  ASSERT_EQ(got.size(), second.size());
  BatchHeader h = DecodeBatchHeader(got.data());
  EXPECT_EQ(h.base_offset, 3);
  EXPECT_EQ(got.substr(16), second.substr(16));  // magic, CRC and everything it covers

  // At the end: no error, empty (not null) records.
  resp = c.Call<FetchResponse>(kFetch, 4, Fetch("t", 0, 5));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->responses[0].partitions[0].error_code, kNone);
  EXPECT_FALSE(resp->responses[0].partitions[0].records.is_null());
  EXPECT_EQ(resp->responses[0].partitions[0].records.size(), 0);
  // Beyond the end: OFFSET_OUT_OF_RANGE.
  resp = c.Call<FetchResponse>(kFetch, 11, Fetch("t", 0, 6));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->responses[0].partitions[0].error_code, kOffsetOutOfRange);
  resp = c.Call<FetchResponse>(kFetch, 11, Fetch("nope", 0, 0));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->responses[0].partitions[0].error_code, kUnknownTopicOrPartition);
}

TEST_F(BrokerTest, FetchReturnsAWholeBatchEvenBeyondMaxBytes) {
  KafkaClient c = Connect();
  CreateTopic(c, "big");
  std::string batch = MakeBatch(50, 1000, -1, -1, std::string(1000, 'x'));
  ASSERT_EQ(ProduceOne(c, "big", batch).error_code, kNone);
  FetchRequest f = Fetch("big", 0, 0);
  f.max_bytes = 100;
  f.topics[0].partitions[0].partition_max_bytes = 100;
  auto resp = c.Call<FetchResponse>(kFetch, 11, f);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->responses[0].partitions[0].records.size(), static_cast<int64_t>(batch.size()));
}

TEST_F(BrokerTest, ProduceValidationErrorsUseKafkasCodes) {
  KafkaClient c = Connect();
  CreateTopic(c, "v");
  std::string crc = MakeBatch(2);
  crc.back() ^= 1;
  EXPECT_EQ(ProduceOne(c, "v", crc).error_code, kCorruptMessage);
  std::string offset = MakeBatch(2);
  offset[7] = 5;  // BaseOffset != 0 (outside the CRC)
  EXPECT_EQ(ProduceOne(c, "v", offset).error_code, kInvalidRecord);
  std::string two = MakeBatch(1) + MakeBatch(1);
  EXPECT_EQ(ProduceOne(c, "v", two).error_code, kInvalidRecord);
  std::string huge = MakeBatch(1, 1000, -1, -1, std::string(2 << 20, 'h'));
  EXPECT_EQ(ProduceOne(c, "v", huge).error_code, kMessageTooLarge);
  EXPECT_EQ(ProduceOne(c, "missing", MakeBatch(1)).error_code, kUnknownTopicOrPartition);
  EXPECT_EQ(ProduceOne(c, "v", MakeBatch(1), /*acks=*/2).error_code, kInvalidRequiredAcks);
  // Nothing was appended by any of them.
  auto resp = c.Call<FetchResponse>(kFetch, 11, Fetch("v", 0, 0));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->responses[0].partitions[0].high_watermark, 0);
}

TEST_F(BrokerTest, AcksZeroGetsNoResponseAndLaterResponsesStayInOrder) {
  KafkaClient c = Connect();
  CreateTopic(c, "z");
  std::string batch = MakeBatch(1);
  ASSERT_TRUE(c.Send(kProduce, 7, Produce("z", 0, &batch, /*acks=*/0)).ok());
  MetadataRequest m;
  m.topics = std::nullopt;
  auto id = c.Send(kMetadata, 1, m);
  ASSERT_TRUE(id.ok());
  auto resp = c.Receive<MetadataResponse>(kMetadata, 1, *id);  // checks the correlation id
  ASSERT_TRUE(resp.ok()) << resp.status();
  auto fetched = c.Call<FetchResponse>(kFetch, 11, Fetch("z", 0, 0));
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->responses[0].partitions[0].high_watermark, 1);
}

TEST_F(BrokerTest, AcksAllAnswersOnceTheBatchIsDurable) {
  KafkaClient c = Connect();
  CreateTopic(c, "d");
  auto r = ProduceOne(c, "d", MakeBatch(5), /*acks=*/-1);
  ASSERT_EQ(r.error_code, kNone);
  auto partition = broker_->topics().GetPartition("d", 0);
  ASSERT_NE(partition, nullptr);
  EXPECT_GE(partition->log().durable_offset(), 5);
}

TEST_F(BrokerTest, PipelinedRequestsAreAnsweredInOrder) {
  KafkaClient c = Connect();
  CreateTopic(c, "p");
  std::vector<std::string> batches;
  std::vector<int32_t> ids;
  for (int i = 0; i < 20; ++i) batches.push_back(MakeBatch(1));
  for (int i = 0; i < 20; ++i) {
    auto id = c.Send(kProduce, 7, Produce("p", 0, &batches[i], i % 2 ? -1 : 1));
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
  }
  for (int i = 0; i < 20; ++i) {
    auto resp = c.Receive<ProduceResponse>(kProduce, 7, ids[i]);
    ASSERT_TRUE(resp.ok()) << i << ": " << resp.status();
    EXPECT_EQ(resp->responses[0].partition_responses[0].base_offset, i);
  }
}

TEST_F(BrokerTest, IdempotentRetriesGetTheOriginalOffsetAndGapsAreRefused) {
  KafkaClient c = Connect();
  CreateTopic(c, "idem");
  auto pid = c.Call<InitProducerIdResponse>(kInitProducerId, 1, IdempotentInit());
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_EQ(pid->error_code, kNone);
  EXPECT_GE(pid->producer_id, 0);
  EXPECT_EQ(pid->producer_epoch, 0);
  auto first = ProduceOne(c, "idem", MakeBatch(3, 1000, pid->producer_id, 0));
  ASSERT_EQ(first.error_code, kNone);
  auto second = ProduceOne(c, "idem", MakeBatch(2, 1000, pid->producer_id, 3));
  ASSERT_EQ(second.base_offset, 3);
  auto retry = ProduceOne(c, "idem", MakeBatch(3, 1000, pid->producer_id, 0));
  EXPECT_EQ(retry.error_code, kNone);
  EXPECT_EQ(retry.base_offset, 0);
  EXPECT_EQ(ProduceOne(c, "idem", MakeBatch(1, 1000, pid->producer_id, 9)).error_code,
            kOutOfOrderSequenceNumber);
  // State survives a restart.
  Restart();
  KafkaClient c2 = Connect();
  auto after = ProduceOne(c2, "idem", MakeBatch(2, 1000, pid->producer_id, 3));
  EXPECT_EQ(after.error_code, kNone);
  EXPECT_EQ(after.base_offset, 3);
  auto next = ProduceOne(c2, "idem", MakeBatch(1, 1000, pid->producer_id, 5));
  EXPECT_EQ(next.base_offset, 5);
  auto another = c2.Call<InitProducerIdResponse>(kInitProducerId, 0, IdempotentInit());
  ASSERT_TRUE(another.ok());
  EXPECT_GT(another->producer_id, pid->producer_id);
}

TEST_F(BrokerTest, LongPollFetchIsAnsweredWhenDataArrives) {
  KafkaClient consumer = Connect();
  CreateTopic(consumer, "lp");
  auto id = consumer.Send(kFetch, 11, Fetch("lp", 0, 0, /*max_wait_ms=*/60000));
  ASSERT_TRUE(id.ok());
  KafkaClient producer = Connect();
  std::string batch = MakeBatch(4);
  ASSERT_EQ(ProduceOne(producer, "lp", batch).error_code, kNone);
  auto resp = consumer.Receive<FetchResponse>(kFetch, 11, *id);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->responses[0].partitions[0].records.size(), static_cast<int64_t>(batch.size()));
}

TEST_F(BrokerTest, LongPollFetchTimesOutWithEmptyRecords) {
  KafkaClient c = Connect();
  CreateTopic(c, "idle");
  auto resp = c.Call<FetchResponse>(kFetch, 11, Fetch("idle", 0, 0, /*max_wait_ms=*/200));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->responses[0].partitions[0].error_code, kNone);
  EXPECT_FALSE(resp->responses[0].partitions[0].records.is_null());
  EXPECT_EQ(resp->responses[0].partitions[0].records.size(), 0);
}

TEST_F(BrokerTest, ListOffsetsByPositionAndTimestamp) {
  KafkaClient c = Connect();
  CreateTopic(c, "lo");
  ASSERT_EQ(ProduceOne(c, "lo", MakeBatch(3, 1000)).error_code, kNone);  // ts 1000..1002
  ASSERT_EQ(ProduceOne(c, "lo", MakeBatch(3, 5000)).error_code, kNone);  // ts 5000..5002
  auto query = [&](int64_t ts, int16_t version) { return ListOffsetsAt(c, "lo", ts, version); };
  EXPECT_EQ(query(-1, 5).offset, 6);
  EXPECT_EQ(query(-2, 1).offset, 0);
  auto at = query(1001, 2);
  EXPECT_EQ(at.offset, 1);
  EXPECT_EQ(at.timestamp, 1001);
  EXPECT_EQ(query(3000, 4).offset, 3);
  auto none = query(9999, 5);
  EXPECT_EQ(none.error_code, kNone);
  EXPECT_EQ(none.offset, -1);
  EXPECT_EQ(none.timestamp, -1);
}

TEST_F(BrokerTest, ListOffsetsByTimestampIsExactInsideCompressedBatches) {
  // Producers compress (librdkafka's compression.codec, kafka-python's compression_type): the
  // answer is the first record at or after the timestamp, not its batch's base offset.
  KafkaClient c = Connect();
  CreateTopic(c, "z");
  const std::vector<Compression> codecs = {Compression::kGzip, Compression::kSnappy,
                                           Compression::kLz4, Compression::kZstd};
  for (size_t k = 0; k < codecs.size(); ++k) {
    // Offsets 5k .. 5k+4, timestamps 10000(k+1) + i.
    std::string batch =
        CompressBatchForTest(MakeBatch(5, 10000 * static_cast<int64_t>(k + 1)), codecs[k]);
    ASSERT_EQ(DecodeBatchHeader(batch.data()).compression(), codecs[k]);
    ASSERT_EQ(ProduceOne(c, "z", batch).error_code, kNone) << CompressionName(codecs[k]);
  }
  auto query = [&](int64_t ts) { return ListOffsetsAt(c, "z", ts); };
  for (size_t k = 0; k < codecs.size(); ++k) {
    const int64_t base_ts = 10000 * static_cast<int64_t>(k + 1);
    for (int i : {0, 2, 4}) {
      auto at = query(base_ts + i);
      EXPECT_EQ(at.error_code, kNone);
      EXPECT_EQ(at.offset, static_cast<int64_t>(5 * k) + i) << CompressionName(codecs[k]);
      EXPECT_EQ(at.timestamp, base_ts + i) << CompressionName(codecs[k]);
    }
  }
  // Between two batches: the next batch's first record.
  EXPECT_EQ(query(10005).offset, 5);
}

TEST_F(BrokerTest, ListOffsetsInsideACompressedBatchThatDoesNotDecompressIsAStorageError) {
  // Produce stores compressed payloads unread, so a producer's garbage reaches the log; the
  // answer for a timestamp inside it is an error (the broker logs the file and byte), not a
  // guess. Timestamps answered by other batches are unaffected.
  KafkaClient c = Connect();
  CreateTopic(c, "bad");
  ASSERT_EQ(ProduceOne(c, "bad", MakeBatch(3, 1000)).error_code, kNone);  // offsets 0-2
  ASSERT_EQ(ProduceOne(c, "bad",
                       BatchWithPayloadForTest(MakeBatch(3, 2000), Compression::kGzip, "garbage"))
                .error_code,
            kNone);                                                       // 3-5
  ASSERT_EQ(ProduceOne(c, "bad", MakeBatch(3, 3000)).error_code, kNone);  // 6-8
  auto failed = ListOffsetsAt(c, "bad", 2001);
  EXPECT_EQ(failed.error_code, kKafkaStorageError);
  EXPECT_EQ(failed.offset, -1);
  EXPECT_EQ(failed.timestamp, -1);
  EXPECT_EQ(ListOffsetsAt(c, "bad", 1001).offset, 1);
  EXPECT_EQ(ListOffsetsAt(c, "bad", 2500).offset, 6);
  EXPECT_EQ(ListOffsetsAt(c, "bad", -1).offset, 9);
}

TEST_F(BrokerTest, CreateDescribeAndDeleteTopics) {
  KafkaClient c = Connect();
  CreateTopicsRequest r;
  auto& t = r.topics.emplace_back();
  t.name = "cfg";
  t.num_partitions = 3;
  t.replication_factor = 1;
  auto& cfg = t.configs.emplace_back();
  cfg.name = "retention.ms";
  cfg.value = "60000";
  auto& rf3 = r.topics.emplace_back();
  rf3.name = "rf3";
  rf3.num_partitions = 1;
  rf3.replication_factor = 3;
  auto resp = c.Call<CreateTopicsResponse>(kCreateTopics, 4, r);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->topics[0].error_code, kNone);
  EXPECT_EQ(resp->topics[1].error_code, kInvalidReplicationFactor);
  resp = c.Call<CreateTopicsResponse>(kCreateTopics, 0, r);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->topics[0].error_code, kTopicAlreadyExists);

  DescribeConfigsRequest d;
  auto& res = d.resources.emplace_back();
  res.resource_type = 2;
  res.resource_name = "cfg";
  res.configuration_keys = std::nullopt;
  auto described = c.Call<DescribeConfigsResponse>(kDescribeConfigs, 2, d);
  ASSERT_TRUE(described.ok()) << described.status();
  bool found = false;
  for (const auto& entry : described->results[0].configs) {
    if (entry.name == "retention.ms") {
      found = true;
      EXPECT_EQ(entry.value, "60000");
      EXPECT_EQ(entry.config_source, 1);
    }
  }
  EXPECT_TRUE(found);

  DeleteTopicsRequest del;
  del.topic_names = {"cfg", "never"};
  del.timeout_ms = 10000;
  auto deleted = c.Call<DeleteTopicsResponse>(kDeleteTopics, 3, del);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->responses[0].error_code, kNone);
  EXPECT_EQ(deleted->responses[1].error_code, kUnknownTopicOrPartition);
  EXPECT_EQ(broker_->topics().Get("cfg"), nullptr);
}

TEST_F(BrokerTest, MalformedRequestsCloseOnlyTheirConnection) {
  KafkaClient good = Connect();
  KafkaClient bad = Connect();
  // A Metadata v1 header followed by a topic count of 1000 and nothing else.
  std::string frame("\x00\x03\x00\x01\x00\x00\x00\x07\xff\xff\x00\x00\x03\xe8", 14);
  ASSERT_TRUE(bad.connection().SendFrame(frame).ok());
  EXPECT_TRUE(bad.connection().WaitForClose());
  KafkaClient unknown = Connect();
  ASSERT_TRUE(unknown.connection()
                  .SendFrame(std::string("\x03\xe7\x00\x00\x00\x00\x00\x01\xff\xff", 10))
                  .ok());
  EXPECT_TRUE(unknown.connection().WaitForClose());
  MetadataRequest m;
  m.topics = std::nullopt;
  EXPECT_TRUE(good.Call<MetadataResponse>(kMetadata, 1, m).ok());
}

TEST_F(BrokerTest, RestartAfterACleanStopScansNothingAndKeepsEverything) {
  KafkaClient c = Connect();
  CreateTopic(c, "keep", 2);
  std::string batch = MakeBatch(10);
  ASSERT_EQ(ProduceOne(c, "keep", batch).error_code, kNone);
  Restart();
  EXPECT_EQ(broker_->topics().partitions_opened(), 3);  // and __consumer_offsets-0
  EXPECT_EQ(broker_->topics().partitions_recovered(), 0);
  KafkaClient c2 = Connect();
  auto resp = c2.Call<FetchResponse>(kFetch, 11, Fetch("keep", 0, 0));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->responses[0].partitions[0].high_watermark, 10);
  EXPECT_EQ(RecordsBytes(resp->responses[0].partitions[0].records).substr(16), batch.substr(16));
}

TEST_F(BrokerTest, SegmentRollsSnapshotTheProducerStateSoACrashReplaysOneSegment) {
  KafkaClient c = Connect();
  CreateTopicsRequest r;
  auto& t = r.topics.emplace_back();
  t.name = "roll";
  t.num_partitions = 1;
  t.replication_factor = 1;
  auto& cfg = t.configs.emplace_back();
  cfg.name = "segment.bytes";
  cfg.value = "2048";
  ASSERT_EQ(c.Call<CreateTopicsResponse>(kCreateTopics, 4, r)->topics[0].error_code, kNone);
  auto pid = c.Call<InitProducerIdResponse>(kInitProducerId, 1, IdempotentInit());
  ASSERT_TRUE(pid.ok());
  int32_t seq = 0;
  for (int i = 0; i < 10; ++i, seq += 5) {
    ASSERT_EQ(
        ProduceOne(c, "roll", MakeBatch(5, 1000, pid->producer_id, seq, std::string(100, 'v')))
            .error_code,
        kNone);
  }
  Flusher::Global().WaitUntilIdle();
  auto partition = broker_->topics().GetPartition("roll", 0);
  std::vector<int64_t> bases = partition->log().SegmentBaseOffsets();
  ASSERT_GT(bases.size(), 2u);
  for (size_t i = 1; i < bases.size(); ++i) {
    SCOPED_TRACE(bases[i]);
    // The newest two are kept (older ones pruned).
    if (i + 2 >= bases.size()) {
      EXPECT_TRUE(std::filesystem::exists(ProducerSnapshotPath(partition->log().dir(), bases[i])));
    }
  }
}

TEST_F(BrokerTest, RetentionRunsInTheBackgroundAndFetchesBelowTheStartAreOutOfRange) {
  ASSERT_TRUE(broker_->Stop().ok());
  broker_.reset();
  config_.retention_check_interval_ms = 20;
  Start();
  KafkaClient c = Connect();
  CreateTopicsRequest r;
  auto& t = r.topics.emplace_back();
  t.name = "ret";
  t.num_partitions = 1;
  t.replication_factor = 1;
  for (auto [k, v] : {std::pair<std::string, std::string>{"segment.bytes", "2048"},
                      {"retention.bytes", "2048"}}) {
    auto& cfg = t.configs.emplace_back();
    cfg.name = k;
    cfg.value = v;
  }
  ASSERT_EQ(c.Call<CreateTopicsResponse>(kCreateTopics, 4, r)->topics[0].error_code, kNone);
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(ProduceOne(c, "ret", MakeBatch(5, 1000, -1, -1, std::string(100, 'r'))).error_code,
              kNone);
  }
  auto partition = broker_->topics().GetPartition("ret", 0);
  // Bounded wait for the background thread (not a timing assertion).
  for (int i = 0; i < 3000 && partition->log().start_offset() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int64_t start = partition->log().start_offset();
  ASSERT_GT(start, 0);
  auto resp = c.Call<FetchResponse>(kFetch, 11, Fetch("ret", 0, 0));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->responses[0].partitions[0].error_code, kOffsetOutOfRange);
  EXPECT_GE(resp->responses[0].partitions[0].log_start_offset, start);
}

TEST_F(BrokerTest, MetricsCountRequestsErrorsBytesAndOffsets) {
  KafkaClient c = Connect();
  CreateTopic(c, "m", 2);
  std::string batch = MakeBatch(7);
  ASSERT_EQ(ProduceOne(c, "m", batch).error_code, kNone);
  std::string bad = MakeBatch(1);
  bad.back() ^= 1;
  ASSERT_EQ(ProduceOne(c, "m", bad).error_code, kCorruptMessage);
  ASSERT_TRUE(c.Call<FetchResponse>(kFetch, 11, Fetch("m", 0, 0)).ok());
  const std::string text = ScrapeMetrics();
  EXPECT_NE(text.find("HTTP/1.1 200"), std::string::npos) << text;
  for (const std::string& line : {
           std::string("varve_requests_total{api=\"Produce\"} 2"),
           std::string("varve_request_errors_total{api=\"Produce\",error=\"CORRUPT_MESSAGE\"} 1"),
           "varve_bytes_in_total{topic=\"m\"} " + std::to_string(batch.size()),
           std::string("varve_records_in_total{topic=\"m\"} 7"),
           "varve_bytes_out_total{topic=\"m\"} " + std::to_string(batch.size()),
           std::string("varve_log_end_offset{topic=\"m\",partition=\"0\"} 7"),
           std::string("varve_log_end_offset{topic=\"m\",partition=\"1\"} 0"),
           std::string("varve_produce_latency_seconds_count 2"),
           std::string("varve_fetch_latency_seconds_count 1"),
           std::string("varve_connections 1"),
       }) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line << "\n" << text;
  }
  EXPECT_NE(text.find("varve_log_size_bytes{topic=\"m\",partition=\"0\"} "), std::string::npos);
}

}  // namespace
}  // namespace varve::broker
