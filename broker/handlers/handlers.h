#pragma once

// One handler per Kafka API (reference §4.1 for each layout and rule). Each takes ownership of
// the request context and answers through its slot, now or later; none blocks its loop thread.

#include <memory>

#include "broker/request_context.h"

namespace varve::broker {

using RequestPtr = std::unique_ptr<RequestContext>;

void HandleApiVersions(RequestPtr ctx);
void HandleMetadata(RequestPtr ctx);
void HandleProduce(RequestPtr ctx);
void HandleFetch(RequestPtr ctx);
void HandleListOffsets(RequestPtr ctx);
void HandleCreateTopics(RequestPtr ctx);
void HandleDeleteTopics(RequestPtr ctx);
void HandleInitProducerId(RequestPtr ctx);
void HandleDescribeConfigs(RequestPtr ctx);
void HandleDeleteRecords(RequestPtr ctx);
// Consumer groups (group_membership.cc, group_offsets.cc, group_admin.cc).
void HandleFindCoordinator(RequestPtr ctx);
void HandleJoinGroup(RequestPtr ctx);
void HandleSyncGroup(RequestPtr ctx);
void HandleHeartbeat(RequestPtr ctx);
void HandleLeaveGroup(RequestPtr ctx);
void HandleOffsetCommit(RequestPtr ctx);
void HandleOffsetFetch(RequestPtr ctx);
void HandleListGroups(RequestPtr ctx);
void HandleDescribeGroups(RequestPtr ctx);

}  // namespace varve::broker
