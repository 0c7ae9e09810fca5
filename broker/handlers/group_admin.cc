// Group administration: ListGroups (16) v0-v2 and DescribeGroups (15) v0-v4 (what
// kafka-consumer-groups.sh and admin clients call).

#include "broker/errors.h"
#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"
#include "broker/protocol/generated/describe_groups_request.h"
#include "broker/protocol/generated/describe_groups_response.h"
#include "broker/protocol/generated/list_groups_request.h"
#include "broker/protocol/generated/list_groups_response.h"

namespace varve::broker {

void HandleListGroups(RequestPtr ctx) {
  protocol::ListGroupsRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  protocol::ListGroupsResponse response;
  if (!s.coordinator || !s.coordinator->ready()) {
    response.error_code = s.coordinator ? kCoordinatorLoadInProgress : kCoordinatorNotAvailable;
  } else {
    for (const group::ListedGroup& g : s.coordinator->ListGroups()) {
      auto& out = response.groups.emplace_back();
      out.group_id = g.group_id;
      out.protocol_type = g.protocol_type;
    }
  }
  SendResponse(*ctx, response);
}

void HandleDescribeGroups(RequestPtr ctx) {
  protocol::DescribeGroupsRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  const bool ready = s.coordinator && s.coordinator->ready();
  protocol::DescribeGroupsResponse response;
  for (const std::string& id : request.groups) {
    auto& out = response.groups.emplace_back();
    out.group_id = id;
    if (!ready) {
      out.error_code = s.coordinator ? kCoordinatorLoadInProgress : kCoordinatorNotAvailable;
      continue;
    }
    group::DescribedGroup g = s.coordinator->Describe(id);
    out.group_state = group::GroupStateName(g.state);
    out.protocol_type = g.protocol_type;
    out.protocol_data = g.protocol;
    for (group::DescribedMember& m : g.members) {
      auto& dm = out.members.emplace_back();
      dm.member_id = m.member_id;
      dm.client_id = m.client_id;
      dm.client_host = m.client_host;
      dm.member_metadata = std::move(m.metadata);
      dm.member_assignment = std::move(m.assignment);
    }
  }
  SendResponse(*ctx, response);
}

}  // namespace varve::broker
