// Produce, Fetch and ListOffsets against bytes written by hand from the schemas.

#include "broker/protocol/generated/fetch_request.h"
#include "broker/protocol/generated/fetch_response.h"
#include "broker/protocol/generated/list_offsets_request.h"
#include "broker/protocol/generated/list_offsets_response.h"
#include "broker/protocol/generated/produce_request.h"
#include "broker/protocol/generated/produce_response.h"
#include "broker/protocol/golden_testing.h"
#include "gtest/gtest.h"

namespace varve::protocol {
namespace {

// ---- Produce ----

ProduceRequest OnePartitionProduce(std::optional<std::string> transactional_id, int16_t acks,
                                   int32_t timeout_ms, Records records) {
  return ProduceRequest{
      .transactional_id = std::move(transactional_id),
      .acks = acks,
      .timeout_ms = timeout_ms,
      .topic_data = {
          {.name = "t", .partition_data = {{.index = 0, .records = std::move(records)}}}}};
}

TEST(ProduceGolden, RequestV3) {
  ExpectGolden(OnePartitionProduce(std::nullopt, -1, 30000, RecordsOf("RECS")), 3,
               "ffff"                 // transactional_id null (v3+)
               "ffff"                 // acks -1
               "00007530"             // timeout_ms 30000
               "00000001 0001 74"     // topic_data: 1, "t"
               "00000001"             // partition_data: 1
               "00000000"             // index 0
               "00000004 52454353");  // records "RECS"
}

TEST(ProduceGolden, RequestV7WithTransactionalIdAndNullRecords) {
  ExpectGolden(OnePartitionProduce("tx", 1, 5000, RecordsOf("RECS")), 7,
               "0002 7478 0001 00001388 00000001 0001 74 00000001 00000000 00000004 52454353");
  ExpectGolden(OnePartitionProduce(std::nullopt, 1, 5000, Records::Null()), 7,
               "ffff 0001 00001388 00000001 0001 74 00000001 00000000 ffffffff");
}

TEST(ProduceGolden, RequestRecordsDecodeAsAViewIntoTheFrame) {
  std::string frame =
      HexToBytes("ffff ffff 00007530 00000001 0001 74 00000001 00000000 00000004 52454353");
  Reader reader(absl::MakeSpan(frame));
  ProduceRequest request;
  ASSERT_TRUE(request.Decode(reader, 3).ok());
  const Records& records = request.topic_data[0].partition_data[0].records;
  EXPECT_EQ(records.data().data(), frame.data() + frame.size() - 4);
  EXPECT_EQ(records.size(), 4);
}

ProduceResponse OnePartitionResponse() {
  return ProduceResponse{.responses = {{.name = "t",
                                        .partition_responses = {{.index = 0,
                                                                 .error_code = 0,
                                                                 .base_offset = 5,
                                                                 .log_append_time_ms = -1,
                                                                 .log_start_offset = 0}}}},
                         .throttle_time_ms = 100};
}

TEST(ProduceGolden, ResponseV2ThrottleTimeComesLast) {
  ExpectGolden(OnePartitionResponse(), 2,
               "00000001 0001 74"  // responses: 1, "t"
               "00000001"          // partition_responses: 1
               "00000000 0000"     // index 0, error 0
               "0000000000000005"  // base_offset
               "ffffffffffffffff"  // log_append_time_ms (v2+)
               "00000064");        // throttle_time_ms (v1+), last
}

TEST(ProduceGolden, ResponseV5AddsLogStartOffset) {
  ExpectGolden(OnePartitionResponse(), 5,
               "00000001 0001 74 00000001 00000000 0000 0000000000000005 ffffffffffffffff"
               "0000000000000000"  // log_start_offset (v5+)
               "00000064");
}

TEST(ProduceGolden, ResponseV7) {
  ExpectGolden(OnePartitionResponse(), 7,
               "00000001 0001 74 00000001 00000000 0000 0000000000000005 ffffffffffffffff"
               "0000000000000000 00000064");
}

// ---- Fetch ----

FetchRequest OnePartitionFetch() {
  return FetchRequest{.replica_id = -1,
                      .max_wait_ms = 500,
                      .min_bytes = 1,
                      .max_bytes = 52428800,
                      .isolation_level = 1,
                      .session_id = 0,
                      .session_epoch = -1,
                      .topics = {{.topic = "t",
                                  .partitions = {{.partition = 0,
                                                  .current_leader_epoch = -1,
                                                  .fetch_offset = 10,
                                                  .log_start_offset = -1,
                                                  .partition_max_bytes = 1048576}}}}};
}

TEST(FetchGolden, RequestV4) {
  ExpectGolden(OnePartitionFetch(), 4,
               "ffffffff"          // replica_id -1
               "000001f4"          // max_wait_ms 500
               "00000001"          // min_bytes 1
               "03200000"          // max_bytes (v3+)
               "01"                // isolation_level (v4+) read_committed
               "00000001 0001 74"  // topics: 1, "t"
               "00000001"          // partitions: 1
               "00000000"          // partition 0
               "000000000000000a"  // fetch_offset 10
               "00100000");        // partition_max_bytes
}

TEST(FetchGolden, RequestV7AddsSessionsLogStartOffsetAndForgottenTopics) {
  ExpectGolden(OnePartitionFetch(), 7,
               "ffffffff 000001f4 00000001 03200000 01"
               "00000000 ffffffff"  // session_id 0, session_epoch -1 (v7+)
               "00000001 0001 74 00000001 00000000 000000000000000a"
               "ffffffffffffffff"  // log_start_offset (v5+)
               "00100000"
               "00000000");  // forgotten_topics_data: 0 (v7+)
}

TEST(FetchGolden, RequestV11AddsLeaderEpochAndRackId) {
  FetchRequest request = OnePartitionFetch();
  request.topics[0].partitions[0].current_leader_epoch = 3;
  request.forgotten_topics_data = {{.topic = "u", .partitions = {1, 2}}};
  request.rack_id = "r";
  ExpectGolden(request, 11,
               "ffffffff 000001f4 00000001 03200000 01 00000000 ffffffff"
               "00000001 0001 74 00000001 00000000"
               "00000003"  // current_leader_epoch (v9+)
               "000000000000000a ffffffffffffffff 00100000"
               "00000001 0001 75 00000002 00000001 00000002"  // forgotten: "u" [1, 2]
               "0001 72");                                    // rack_id "r" (v11+)
}

FetchResponse OnePartitionFetchResponse() {
  return FetchResponse{
      .throttle_time_ms = 0,
      .error_code = 0,
      .session_id = 0,
      .responses = {
          {.topic = "t",
           .partitions = {{.partition_index = 0,
                           .error_code = 0,
                           .high_watermark = 10,
                           .last_stable_offset = 10,
                           .log_start_offset = 0,
                           .aborted_transactions = std::vector<FetchResponse::AbortedTransaction>(),
                           .preferred_read_replica = -1,
                           .records = RecordsOf("RECS")}}}}};
}

TEST(FetchGolden, ResponseV4AddsLastStableOffsetAndAbortedTransactions) {
  ExpectGolden(OnePartitionFetchResponse(), 4,
               "00000000"             // throttle_time_ms (v1+)
               "00000001 0001 74"     // responses: 1, "t"
               "00000001"             // partitions: 1
               "00000000 0000"        // partition_index 0, error 0
               "000000000000000a"     // high_watermark 10
               "000000000000000a"     // last_stable_offset (v4+)
               "00000000"             // aborted_transactions: 0 (v4+)
               "00000004 52454353");  // records
}

TEST(FetchGolden, ResponseV5AddsLogStartOffset) {
  ExpectGolden(OnePartitionFetchResponse(), 5,
               "00000000 00000001 0001 74 00000001 00000000 0000"
               "000000000000000a 000000000000000a"
               "0000000000000000"  // log_start_offset (v5+)
               "00000000 00000004 52454353");
}

TEST(FetchGolden, ResponseV7AddsErrorCodeAndSessionId) {
  ExpectGolden(OnePartitionFetchResponse(), 7,
               "00000000"       // throttle_time_ms
               "0000 00000000"  // error_code, session_id (v7+)
               "00000001 0001 74 00000001 00000000 0000"
               "000000000000000a 000000000000000a 0000000000000000"
               "00000000 00000004 52454353");
}

TEST(FetchGolden, ResponseV11PreferredReadReplicaAndEmptyVersusNullRecords) {
  FetchResponse response = OnePartitionFetchResponse();
  FetchResponse::PartitionData& first = response.responses[0].partitions[0];
  first.aborted_transactions =
      std::vector<FetchResponse::AbortedTransaction>{{.producer_id = 7, .first_offset = 3}};
  first.records = Records();  // empty, not null: length 0
  FetchResponse::PartitionData second = first;
  second.partition_index = 1;
  second.error_code = 1;  // OFFSET_OUT_OF_RANGE
  second.aborted_transactions = std::nullopt;
  second.records = Records::Null();
  response.responses[0].partitions.push_back(second);
  ExpectGolden(response, 11,
               "00000000 0000 00000000"
               "00000001 0001 74"
               "00000002"  // partitions: 2
               "00000000 0000 000000000000000a 000000000000000a 0000000000000000"
               "00000001 0000000000000007 0000000000000003"  // aborted: [{7, 3}]
               "ffffffff"                                    // preferred_read_replica (v11+)
               "00000000"                                    // records: empty
               "00000001 0001 000000000000000a 000000000000000a 0000000000000000"
               "ffffffff"    // aborted: null
               "ffffffff"    // preferred_read_replica
               "ffffffff");  // records: null
}

// ---- ListOffsets ----

ListOffsetsRequest LatestOffsetRequest() {
  return ListOffsetsRequest{.replica_id = -1,
                            .isolation_level = 0,
                            .topics = {{.name = "t",
                                        .partitions = {{.partition_index = 0,
                                                        .current_leader_epoch = -1,
                                                        .timestamp = -1,
                                                        .max_num_offsets = 1}}}}};
}

TEST(ListOffsetsGolden, RequestV0HasMaxNumOffsets) {
  ExpectGolden(LatestOffsetRequest(), 0,
               "ffffffff 00000001 0001 74 00000001 00000000"
               "ffffffffffffffff"  // timestamp -1 (latest)
               "00000001");        // max_num_offsets (v0 only)
}

TEST(ListOffsetsGolden, RequestV1V2V4) {
  ExpectGolden(LatestOffsetRequest(), 1,
               "ffffffff 00000001 0001 74 00000001 00000000 ffffffffffffffff");
  ListOffsetsRequest committed = LatestOffsetRequest();
  committed.isolation_level = 1;
  ExpectGolden(committed, 2,
               "ffffffff 01"  // isolation_level (v2+)
               "00000001 0001 74 00000001 00000000 ffffffffffffffff");
  committed.topics[0].partitions[0].current_leader_epoch = 2;
  ExpectGolden(committed, 4,
               "ffffffff 01 00000001 0001 74 00000001 00000000"
               "00000002"  // current_leader_epoch (v4+)
               "ffffffffffffffff");
}

TEST(ListOffsetsGolden, ResponseV0HasOldStyleOffsets) {
  ListOffsetsResponse response{
      .topics = {
          {.name = "t",
           .partitions = {{.partition_index = 0, .error_code = 0, .old_style_offsets = {5}}}}}};
  ExpectGolden(response, 0,
               "00000001 0001 74 00000001 00000000 0000"
               "00000001 0000000000000005");  // old_style_offsets [5]
}

TEST(ListOffsetsGolden, ResponseV1V2V4) {
  ListOffsetsResponse response{.throttle_time_ms = 0,
                               .topics = {{.name = "t",
                                           .partitions = {{.partition_index = 0,
                                                           .error_code = 0,
                                                           .timestamp = -1,
                                                           .offset = 5,
                                                           .leader_epoch = 3}}}}};
  ExpectGolden(response, 1,
               "00000001 0001 74 00000001 00000000 0000"
               "ffffffffffffffff 0000000000000005");  // timestamp, offset (v1+)
  ExpectGolden(response, 2,
               "00000000"  // throttle_time_ms (v2+)
               "00000001 0001 74 00000001 00000000 0000 ffffffffffffffff 0000000000000005");
  ExpectGolden(response, 4,
               "00000000 00000001 0001 74 00000001 00000000 0000"
               "ffffffffffffffff 0000000000000005"
               "00000003");  // leader_epoch (v4+)
}

}  // namespace
}  // namespace varve::protocol
