// ApiVersions and Metadata against bytes written by hand from the schemas.

#include "broker/protocol/generated/api_versions_request.h"
#include "broker/protocol/generated/api_versions_response.h"
#include "broker/protocol/generated/metadata_request.h"
#include "broker/protocol/generated/metadata_response.h"
#include "broker/protocol/golden_testing.h"
#include "gtest/gtest.h"

namespace varve::protocol {
namespace {

TEST(ApiVersionsGolden, RequestV0IsEmpty) { ExpectGolden(ApiVersionsRequest(), 0, ""); }

TEST(ApiVersionsGolden, RequestV3HasCompactStringsAndTags) {
  ApiVersionsRequest request{.client_software_name = "librdkafka",
                             .client_software_version = "2.0.2"};
  ExpectGolden(request, 3,
               "0b 6c69627264 6b61666b61"  // compact "librdkafka" (10 + 1)
               "06 322e302e32"             // compact "2.0.2"
               "00");                      // no tagged fields
}

ApiVersionsResponse TwoApis() {
  return ApiVersionsResponse{.error_code = 0,
                             .api_keys = {{.api_key = 0, .min_version = 3, .max_version = 7},
                                          {.api_key = 18, .min_version = 0, .max_version = 3}}};
}

TEST(ApiVersionsGolden, ResponseV0) {
  ExpectGolden(TwoApis(), 0,
               "0000"              // error_code
               "00000002"          // api_keys: 2
               "0000 0003 0007"    // Produce 3-7
               "0012 0000 0003");  // ApiVersions 0-3
}

TEST(ApiVersionsGolden, ResponseV1AddsThrottleTime) {
  ApiVersionsResponse response = TwoApis();
  response.throttle_time_ms = 5;
  ExpectGolden(response, 1, "0000 00000002 0000 0003 0007 0012 0000 0003 00000005");
}

TEST(ApiVersionsGolden, ResponseV3HasCompactArrayAndTagSections) {
  ExpectGolden(TwoApis(), 3,
               "0000"               // error_code
               "03"                 // api_keys: compact 2 + 1
               "0000 0003 0007 00"  // Produce 3-7, no tags
               "0012 0000 0003 00"  // ApiVersions 0-3, no tags
               "00000000"           // throttle_time_ms
               "00");               // no tagged fields
}

TEST(ApiVersionsGolden, ResponseV3WithTaggedFields) {
  ApiVersionsResponse response{
      .supported_features = {{.name = "x", .min_version = 1, .max_version = 2}},
      .finalized_features_epoch = 5};
  ExpectGolden(response, 3,
               "0000 01 00000000"      // error 0, api_keys [], throttle 0
               "02"                    // two tagged fields
               "00 08"                 // tag 0 (SupportedFeatures), 8 bytes:
               "02 0278 0001 0002 00"  //   [ {"x", 1, 2, no tags} ]
               "01 08"                 // tag 1 (FinalizedFeaturesEpoch), 8 bytes:
               "0000000000000005");
}

TEST(MetadataGolden, RequestV0EmptyArrayMeansAllTopics) {
  ExpectGolden(MetadataRequest{.topics = std::vector<MetadataRequest::MetadataRequestTopic>()}, 0,
               "00000000");
  ExpectGolden(
      MetadataRequest{.topics = std::vector<MetadataRequest::MetadataRequestTopic>{{.name = "t"}}},
      0, "00000001 0001 74");
}

TEST(MetadataGolden, RequestV1NullMeansAllTopics) {
  ExpectGolden(MetadataRequest{.topics = std::nullopt}, 1, "ffffffff");
  ExpectGolden(MetadataRequest{.topics = std::vector<MetadataRequest::MetadataRequestTopic>()}, 1,
               "00000000");
}

TEST(MetadataGolden, RequestV4AddsAllowAutoTopicCreation) {
  ExpectGolden(MetadataRequest{.topics = std::nullopt}, 4, "ffffffff 01");  // default true
  ExpectGolden(MetadataRequest{.topics = std::nullopt, .allow_auto_topic_creation = false}, 4,
               "ffffffff 00");
}

MetadataResponse OneBrokerOneTopic() {
  return MetadataResponse{.throttle_time_ms = 0,
                          .brokers = {{.node_id = 1, .host = "h", .port = 9092, .rack = "r"}},
                          .cluster_id = "c",
                          .controller_id = 1,
                          .topics = {{.error_code = 0,
                                      .name = "t",
                                      .is_internal = false,
                                      .partitions = {{.error_code = 0,
                                                      .partition_index = 0,
                                                      .leader_id = 1,
                                                      .leader_epoch = 4,
                                                      .replica_nodes = {1},
                                                      .isr_nodes = {1},
                                                      .offline_replicas = {}}}}}};
}

TEST(MetadataGolden, ResponseV0) {
  ExpectGolden(OneBrokerOneTopic(), 0,
               "00000001"                   // brokers: 1
               "00000001 0001 68 00002384"  // node 1, "h", 9092
               "00000001"                   // topics: 1
               "0000 0001 74"               // error 0, "t"
               "00000001"                   // partitions: 1
               "0000 00000000 00000001"     // error 0, index 0, leader 1
               "00000001 00000001"          // replica_nodes [1]
               "00000001 00000001");        // isr_nodes [1]
}

TEST(MetadataGolden, ResponseV1AddsRackControllerAndIsInternal) {
  ExpectGolden(OneBrokerOneTopic(), 1,
               "00000001 00000001 0001 68 00002384 0001 72"  // broker + rack "r"
               "00000001"                                    // controller_id
               "00000001 0000 0001 74 00"                    // topic + is_internal
               "00000001 0000 00000000 00000001 00000001 00000001 00000001 00000001");
  MetadataResponse null_rack = OneBrokerOneTopic();
  null_rack.brokers[0].rack = std::nullopt;
  ExpectGolden(null_rack, 1,
               "00000001 00000001 0001 68 00002384 ffff 00000001"
               "00000001 0000 0001 74 00"
               "00000001 0000 00000000 00000001 00000001 00000001 00000001 00000001");
}

TEST(MetadataGolden, ResponseV5AddsThrottleClusterIdAndOfflineReplicas) {
  ExpectGolden(OneBrokerOneTopic(), 5,
               "00000000"                                    // throttle_time_ms (v3+)
               "00000001 00000001 0001 68 00002384 0001 72"  // brokers
               "0001 63"                                     // cluster_id "c" (v2+)
               "00000001"                                    // controller_id
               "00000001 0000 0001 74 00"                    // topic
               "00000001 0000 00000000 00000001"             // partition
               "00000001 00000001 00000001 00000001"         // replicas, isr
               "00000000");                                  // offline_replicas (v5+)
}

TEST(MetadataGolden, ResponseV7AddsLeaderEpoch) {
  ExpectGolden(OneBrokerOneTopic(), 7,
               "00000000 00000001 00000001 0001 68 00002384 0001 72 0001 63 00000001"
               "00000001 0000 0001 74 00"
               "00000001 0000 00000000 00000001"
               "00000004"  // leader_epoch (v7+)
               "00000001 00000001 00000001 00000001 00000000");
  MetadataResponse null_cluster = OneBrokerOneTopic();
  null_cluster.cluster_id = std::nullopt;
  ExpectGolden(null_cluster, 7,
               "00000000 00000001 00000001 0001 68 00002384 0001 72 ffff 00000001"
               "00000001 0000 0001 74 00"
               "00000001 0000 00000000 00000001 00000004"
               "00000001 00000001 00000001 00000001 00000000");
}

}  // namespace
}  // namespace varve::protocol
