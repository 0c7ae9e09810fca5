#include "broker/handlers/api_table.h"

namespace varve::broker {

const std::vector<ApiEntry>& SupportedApis() {
  static const auto* apis = new std::vector<ApiEntry>{
      {0, 3, 7, HandleProduce},      // Produce
      {1, 4, 11, HandleFetch},       // Fetch
      {2, 1, 5, HandleListOffsets},  // ListOffsets
      {3, 0, 7, HandleMetadata},     // Metadata
      // Groups: librdkafka needs overlap with OffsetCommit 1..2, OffsetFetch 1 and version 0
      // of the others, or it turns consumer groups off (reference §4.0).
      {8, 2, 7, HandleOffsetCommit},      // OffsetCommit
      {9, 1, 5, HandleOffsetFetch},       // OffsetFetch (v6+ is flexible)
      {10, 0, 2, HandleFindCoordinator},  // FindCoordinator
      {11, 0, 5, HandleJoinGroup},        // JoinGroup
      {12, 0, 3, HandleHeartbeat},        // Heartbeat
      {13, 0, 3, HandleLeaveGroup},       // LeaveGroup
      {14, 0, 3, HandleSyncGroup},        // SyncGroup
      {15, 0, 4, HandleDescribeGroups},   // DescribeGroups
      {16, 0, 2, HandleListGroups},       // ListGroups
      {18, 0, 3, HandleApiVersions},      // ApiVersions
      {19, 0, 4, HandleCreateTopics},     // CreateTopics
      {20, 0, 3, HandleDeleteTopics},     // DeleteTopics
      {21, 0, 2, HandleDeleteRecords},    // DeleteRecords (v2 is flexible)
      {22, 0, 1, HandleInitProducerId},   // InitProducerId
      {32, 0, 2, HandleDescribeConfigs},  // DescribeConfigs
  };
  return *apis;
}

const ApiEntry* FindApi(int16_t api_key) {
  for (const ApiEntry& e : SupportedApis()) {
    if (e.api_key == api_key) return &e;
  }
  return nullptr;
}

}  // namespace varve::broker
