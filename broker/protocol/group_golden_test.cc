// The consumer-group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// OffsetCommit, OffsetFetch) against bytes written by hand from the schemas.

#include "broker/protocol/generated/find_coordinator_request.h"
#include "broker/protocol/generated/find_coordinator_response.h"
#include "broker/protocol/generated/heartbeat_request.h"
#include "broker/protocol/generated/join_group_request.h"
#include "broker/protocol/generated/leave_group_request.h"
#include "broker/protocol/generated/offset_commit_request.h"
#include "broker/protocol/generated/offset_fetch_request.h"
#include "broker/protocol/generated/offset_fetch_response.h"
#include "broker/protocol/generated/sync_group_request.h"
#include "broker/protocol/golden_testing.h"
#include "gtest/gtest.h"

namespace varve::protocol {
namespace {

TEST(FindCoordinatorGolden, RequestV0V2) {
  FindCoordinatorRequest request{.key = "g", .key_type = 0};
  ExpectGolden(request, 0, "0001 67");
  ExpectGolden(request, 2, "0001 67 00");  // key_type (v1+)
}

TEST(FindCoordinatorGolden, ResponseV0V2) {
  FindCoordinatorResponse response{.throttle_time_ms = 0,
                                   .error_code = 0,
                                   .error_message = std::nullopt,
                                   .node_id = 1,
                                   .host = "h",
                                   .port = 9092};
  ExpectGolden(response, 0, "0000 00000001 0001 68 00002384");
  ExpectGolden(response, 2,
               "00000000"   // throttle_time_ms (v1+)
               "0000 ffff"  // error_code, error_message null (v1+)
               "00000001 0001 68 00002384");
}

JoinGroupRequest Join() {
  return JoinGroupRequest{.group_id = "g",
                          .session_timeout_ms = 10000,
                          .rebalance_timeout_ms = 60000,
                          .member_id = "",
                          .group_instance_id = std::nullopt,
                          .protocol_type = "consumer",
                          .protocols = {{.name = "range", .metadata = std::string("\x00\x01", 2)}}};
}

TEST(JoinGroupGolden, RequestV0) {
  ExpectGolden(Join(), 0,
               "0001 67"                                   // group_id "g"
               "00002710"                                  // session_timeout_ms 10000
               "0000"                                      // member_id ""
               "0008 636f6e73756d6572"                     // protocol_type "consumer"
               "00000001 0005 72616e6765 00000002 0001");  // protocols: [range, 2 bytes]
}

TEST(JoinGroupGolden, RequestV2AddsRebalanceTimeout) {
  ExpectGolden(Join(), 2,
               "0001 67 00002710"
               "0000ea60"  // rebalance_timeout_ms (v1+)
               "0000 0008 636f6e73756d6572 00000001 0005 72616e6765 00000002 0001");
}

TEST(JoinGroupGolden, RequestV5AddsGroupInstanceId) {
  ExpectGolden(Join(), 5,
               "0001 67 00002710 0000ea60 0000"
               "ffff"  // group_instance_id null (v5+)
               "0008 636f6e73756d6572 00000001 0005 72616e6765 00000002 0001");
  JoinGroupRequest static_member = Join();
  static_member.group_instance_id = "i";
  ExpectGolden(static_member, 5,
               "0001 67 00002710 0000ea60 0000 0001 69"
               "0008 636f6e73756d6572 00000001 0005 72616e6765 00000002 0001");
}

TEST(SyncGroupGolden, RequestV3) {
  SyncGroupRequest request{.group_id = "g",
                           .generation_id = 1,
                           .member_id = "m",
                           .group_instance_id = std::nullopt,
                           .assignments = {{.member_id = "m", .assignment = std::string(1, '\0')}}};
  ExpectGolden(request, 3,
               "0001 67 00000001 0001 6d"
               "ffff"                            // group_instance_id null (v3+)
               "00000001 0001 6d 00000001 00");  // assignments: [m -> 1 byte]
}

TEST(HeartbeatGolden, RequestV3) {
  HeartbeatRequest request{
      .group_id = "g", .generation_id = 1, .member_id = "m", .group_instance_id = "i"};
  ExpectGolden(request, 3, "0001 67 00000001 0001 6d 0001 69");
}

TEST(LeaveGroupGolden, RequestV1HasOneMemberId) {
  LeaveGroupRequest request{.group_id = "g", .member_id = "m"};
  ExpectGolden(request, 1, "0001 67 0001 6d");
}

TEST(LeaveGroupGolden, RequestV3HasMembers) {
  LeaveGroupRequest request{.group_id = "g",
                            .members = {{.member_id = "m", .group_instance_id = std::nullopt}}};
  ExpectGolden(request, 3, "0001 67 00000001 0001 6d ffff");
}

OffsetCommitRequest Commit() {
  return OffsetCommitRequest{.group_id = "g",
                             .generation_id_or_member_epoch = 1,
                             .member_id = "m",
                             .group_instance_id = std::nullopt,
                             .retention_time_ms = -1,
                             .topics = {{.name = "t",
                                         .partitions = {{.partition_index = 0,
                                                         .committed_offset = 42,
                                                         .committed_leader_epoch = 5,
                                                         .committed_metadata = "md"}}}}};
}

TEST(OffsetCommitGolden, RequestV2HasRetentionTime) {
  ExpectGolden(Commit(), 2,
               "0001 67 00000001 0001 6d"  // group_id, generation, member_id (v1+)
               "ffffffffffffffff"          // retention_time_ms (v2-4)
               "00000001 0001 74 00000001 00000000 000000000000002a"
               "0002 6d64");  // committed_metadata "md"
}

TEST(OffsetCommitGolden, RequestV7HasGroupInstanceIdAndLeaderEpoch) {
  ExpectGolden(Commit(), 7,
               "0001 67 00000001 0001 6d"
               "ffff"  // group_instance_id (v7+)
               "00000001 0001 74 00000001 00000000 000000000000002a"
               "00000005"  // committed_leader_epoch (v6+)
               "0002 6d64");
}

OffsetFetchRequest FetchTwoPartitions() {
  return OffsetFetchRequest{.group_id = "g",
                            .topics = std::vector<OffsetFetchRequest::OffsetFetchRequestTopic>{
                                {.name = "t", .partition_indexes = {0, 1}}}};
}

TEST(OffsetFetchGolden, RequestV1) {
  ExpectGolden(FetchTwoPartitions(), 1, "0001 67 00000001 0001 74 00000002 00000000 00000001");
}

TEST(OffsetFetchGolden, RequestV2NullTopicsMeansAll) {
  ExpectGolden(OffsetFetchRequest{.group_id = "g", .topics = std::nullopt}, 2, "0001 67 ffffffff");
  ExpectGolden(FetchTwoPartitions(), 2, "0001 67 00000001 0001 74 00000002 00000000 00000001");
}

TEST(OffsetFetchGolden, RequestV5) {
  ExpectGolden(FetchTwoPartitions(), 5, "0001 67 00000001 0001 74 00000002 00000000 00000001");
  ExpectGolden(OffsetFetchRequest{.group_id = "g", .topics = std::nullopt}, 5, "0001 67 ffffffff");
}

OffsetFetchResponse NoCommit() {
  return OffsetFetchResponse{.throttle_time_ms = 0,
                             .topics = {{.name = "t",
                                         .partitions = {{.partition_index = 0,
                                                         .committed_offset = -1,
                                                         .committed_leader_epoch = -1,
                                                         .metadata = "",
                                                         .error_code = 0}}}},
                             .error_code = 0};
}

TEST(OffsetFetchGolden, ResponseV1) {
  ExpectGolden(NoCommit(), 1,
               "00000001 0001 74 00000001"
               "00000000 ffffffffffffffff"  // partition 0, committed_offset -1
               "0000"                       // metadata ""
               "0000");                     // error_code
}

TEST(OffsetFetchGolden, ResponseV2AddsTopLevelErrorCode) {
  OffsetFetchResponse response = NoCommit();
  response.error_code = 16;  // NOT_COORDINATOR
  ExpectGolden(response, 2,
               "00000001 0001 74 00000001 00000000 ffffffffffffffff 0000 0000"
               "0010");  // error_code (v2+)
}

TEST(OffsetFetchGolden, ResponseV5AddsThrottleAndLeaderEpoch) {
  OffsetFetchResponse response = NoCommit();
  response.topics[0].partitions[0].committed_offset = 10;
  response.topics[0].partitions[0].committed_leader_epoch = 2;
  response.topics[0].partitions[0].metadata = std::nullopt;
  ExpectGolden(response, 5,
               "00000000"  // throttle_time_ms (v3+)
               "00000001 0001 74 00000001 00000000 000000000000000a"
               "00000002"  // committed_leader_epoch (v5+)
               "ffff"      // metadata null
               "0000 0000");
}

}  // namespace
}  // namespace varve::protocol
