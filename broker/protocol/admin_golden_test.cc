// CreateTopics, DeleteTopics, InitProducerId and DescribeConfigs against bytes written by hand
// from the schemas.

#include "broker/protocol/generated/create_topics_request.h"
#include "broker/protocol/generated/create_topics_response.h"
#include "broker/protocol/generated/delete_topics_request.h"
#include "broker/protocol/generated/delete_topics_response.h"
#include "broker/protocol/generated/describe_configs_request.h"
#include "broker/protocol/generated/describe_configs_response.h"
#include "broker/protocol/generated/init_producer_id_request.h"
#include "broker/protocol/generated/init_producer_id_response.h"
#include "broker/protocol/golden_testing.h"
#include "gtest/gtest.h"

namespace varve::protocol {
namespace {

// ---- CreateTopics ----

CreateTopicsRequest OneTopic() {
  return CreateTopicsRequest{.topics = {{.name = "t",
                                         .num_partitions = 3,
                                         .replication_factor = 1,
                                         .assignments = {},
                                         .configs = {{.name = "k", .value = "v"}}}},
                             .timeout_ms = 60000,
                             .validate_only = false};
}

TEST(CreateTopicsGolden, RequestV0) {
  ExpectGolden(OneTopic(), 0,
               "00000001 0001 74"          // topics: 1, "t"
               "00000003 0001"             // num_partitions 3, replication_factor 1
               "00000000"                  // assignments: 0
               "00000001 0001 6b 0001 76"  // configs: [k=v]
               "0000ea60");                // timeout_ms 60000
}

TEST(CreateTopicsGolden, RequestV1AddsValidateOnly) {
  ExpectGolden(OneTopic(), 1,
               "00000001 0001 74 00000003 0001 00000000 00000001 0001 6b 0001 76 0000ea60"
               "00");  // validate_only (v1+)
}

TEST(CreateTopicsGolden, RequestV4WithAssignmentsAndNullConfigValue) {
  CreateTopicsRequest request = OneTopic();
  request.topics[0].num_partitions = -1;
  request.topics[0].replication_factor = -1;
  request.topics[0].assignments = {{.partition_index = 0, .broker_ids = {1, 2}}};
  request.topics[0].configs[0].value = std::nullopt;
  request.validate_only = true;
  ExpectGolden(request, 4,
               "00000001 0001 74 ffffffff ffff"
               "00000001 00000000 00000002 00000001 00000002"  // assignments: [0 -> [1, 2]]
               "00000001 0001 6b ffff"                         // configs: [k=null]
               "0000ea60 01");
}

TEST(CreateTopicsGolden, RequestV5IsFlexible) {
  ExpectGolden(OneTopic(), 5,
               "02 0274"  // topics: compact 1, compact "t"
               "00000003 0001"
               "01"               // assignments: compact 0
               "02 026b 0276 00"  // configs: [k=v, no tags]
               "00"               // topic: no tags
               "0000ea60 00"      // timeout_ms, validate_only
               "00");             // no tags
}

TEST(CreateTopicsGolden, ResponseV0AndV5WithATaggedField) {
  CreateTopicsResponse response{.throttle_time_ms = 0,
                                .topics = {{.name = "t",
                                            .error_code = 0,
                                            .error_message = std::nullopt,
                                            .topic_config_error_code = 7,
                                            .num_partitions = 1,
                                            .replication_factor = 1,
                                            .configs = std::nullopt}}};
  ExpectGolden(response, 0, "00000001 0001 74 0000");
  ExpectGolden(response, 5,
               "00000000"       // throttle_time_ms
               "02 0274 0000"   // topics: compact 1; "t", error 0
               "00"             // error_message: null
               "00000001 0001"  // num_partitions, replication_factor (v5+)
               "00"             // configs: null
               "01 00 02 0007"  // tags: TopicConfigErrorCode (tag 0) = 7
               "00");           // no tags
}

// ---- DeleteTopics ----

TEST(DeleteTopicsGolden, RequestV0ToV3) {
  DeleteTopicsRequest request{.topic_names = {"a", "b"}, .timeout_ms = 1000};
  for (int16_t version = 0; version <= 3; ++version) {
    ExpectGolden(request, version, "00000002 0001 61 0001 62 000003e8");
  }
}

TEST(DeleteTopicsGolden, ResponseV0ToV3) {
  DeleteTopicsResponse response{.throttle_time_ms = 9,
                                .responses = {{.name = "a", .error_code = 3}}};
  ExpectGolden(response, 0, "00000001 0001 61 0003");
  for (int16_t version = 1; version <= 3; ++version) {
    ExpectGolden(response, version,
                 "00000009"  // throttle_time_ms (v1+)
                 "00000001 0001 61 0003");
  }
}

// ---- InitProducerId ----

TEST(InitProducerIdGolden, RequestV0V1) {
  InitProducerIdRequest request{.transactional_id = std::nullopt, .transaction_timeout_ms = 60000};
  ExpectGolden(request, 0, "ffff 0000ea60");
  ExpectGolden(request, 1, "ffff 0000ea60");
  request.transactional_id = "tx";
  ExpectGolden(request, 1, "0002 7478 0000ea60");
}

TEST(InitProducerIdGolden, ResponseV0V1) {
  InitProducerIdResponse response{
      .throttle_time_ms = 0, .error_code = 0, .producer_id = 1000, .producer_epoch = 0};
  ExpectGolden(response, 0, "00000000 0000 00000000000003e8 0000");
  ExpectGolden(response, 1, "00000000 0000 00000000000003e8 0000");
}

// ---- DescribeConfigs ----

TEST(DescribeConfigsGolden, RequestV0V1V2) {
  DescribeConfigsRequest request{
      .resources = {{.resource_type = 2, .resource_name = "t", .configuration_keys = std::nullopt}},
      .include_synonyms = true};
  ExpectGolden(request, 0, "00000001 02 0001 74 ffffffff");
  ExpectGolden(request, 1, "00000001 02 0001 74 ffffffff 01");  // include_synonyms (v1+)
  request.resources[0].configuration_keys = std::vector<std::string>{"k"};
  ExpectGolden(request, 2, "00000001 02 0001 74 00000001 0001 6b 01");
}

DescribeConfigsResponse OneConfig() {
  return DescribeConfigsResponse{
      .throttle_time_ms = 0,
      .results = {{.error_code = 0,
                   .error_message = std::nullopt,
                   .resource_type = 2,
                   .resource_name = "t",
                   .configs = {{.name = "k",
                                .value = "v",
                                .read_only = false,
                                .is_default = true,
                                .config_source = 5,
                                .is_sensitive = false,
                                .synonyms = {{.name = "k", .value = "v", .source = 5}}}}}}};
}

TEST(DescribeConfigsGolden, ResponseV0HasIsDefault) {
  ExpectGolden(OneConfig(), 0,
               "00000000"                  // throttle_time_ms
               "00000001 0000 ffff"        // results: 1; error 0, error_message null
               "02 0001 74"                // resource_type 2, "t"
               "00000001 0001 6b 0001 76"  // configs: 1; k=v
               "00 01 00");                // read_only, is_default (v0 only), is_sensitive
}

TEST(DescribeConfigsGolden, ResponseV1V2HaveConfigSourceAndSynonyms) {
  for (int16_t version = 1; version <= 2; ++version) {
    ExpectGolden(OneConfig(), version,
                 "00000000 00000001 0000 ffff 02 0001 74 00000001 0001 6b 0001 76"
                 "00"                             // read_only
                 "05"                             // config_source (v1+)
                 "00"                             // is_sensitive
                 "00000001 0001 6b 0001 76 05");  // synonyms (v1+): [k=v from 5]
  }
}

}  // namespace
}  // namespace varve::protocol
