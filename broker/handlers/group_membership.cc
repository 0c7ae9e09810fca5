// Group membership: FindCoordinator (10) v0-v2, JoinGroup (11) v0-v5, SyncGroup (14) v0-v3,
// Heartbeat (12) v0-v3, LeaveGroup (13) v0-v3. Reference §4.1 and §4.4; the state machine is
// broker/group/coordinator.h.
//
// JoinGroup and SyncGroup may wait (for the other members, for the leader's assignment): their
// context moves into the coordinator's callback, which answers from the timer thread or from
// the thread of the request that completed the rebalance.

#include <memory>

#include "absl/strings/str_cat.h"
#include "broker/broker_metrics.h"
#include "broker/errors.h"
#include "broker/group/coordinator.h"
#include "broker/handlers/handlers.h"
#include "broker/protocol/generated/find_coordinator_request.h"
#include "broker/protocol/generated/find_coordinator_response.h"
#include "broker/protocol/generated/heartbeat_request.h"
#include "broker/protocol/generated/heartbeat_response.h"
#include "broker/protocol/generated/join_group_request.h"
#include "broker/protocol/generated/join_group_response.h"
#include "broker/protocol/generated/leave_group_request.h"
#include "broker/protocol/generated/leave_group_response.h"
#include "broker/protocol/generated/sync_group_request.h"
#include "broker/protocol/generated/sync_group_response.h"

namespace varve::broker {
namespace {

void CountError(const RequestContext& ctx, int16_t code) {
  if (code != kNone && ctx.services->metrics) ctx.services->metrics->CountError(ctx.api_key, code);
}

// Kafka reports the client host as "/address".
std::string ClientHost(const RequestContext& ctx) {
  const std::string& peer = ctx.request.connection.peer;
  const size_t colon = peer.rfind(':');
  std::string host = colon == std::string::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return absl::StrCat("/", host);
}

// The error for a request that arrives while the coordinator cannot serve, or kNone.
int16_t Unavailable(const Services& s) {
  if (!s.coordinator) return kCoordinatorNotAvailable;
  return s.coordinator->ready() ? kNone : kCoordinatorLoadInProgress;
}

}  // namespace

void HandleFindCoordinator(RequestPtr ctx) {
  protocol::FindCoordinatorRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  protocol::FindCoordinatorResponse response;
  response.error_message = std::nullopt;
  response.node_id = -1;
  response.port = -1;
  if (request.key_type != 0) {
    response.error_code = kCoordinatorNotAvailable;
    response.error_message = "transactions are not supported";
  } else if (int16_t e = Unavailable(s); e != kNone) {
    response.error_code = kCoordinatorNotAvailable;  // retriable; 14 is not valid here
    response.error_message = "the group coordinator is not ready";
  } else {
    // A single node coordinates every group (it leads every __consumer_offsets partition).
    response.node_id = s.config->node_id;
    response.host = s.advertised.host;
    response.port = s.advertised.port;
  }
  CountError(*ctx, response.error_code);
  SendResponse(*ctx, response);
}

void HandleJoinGroup(RequestPtr ctx) {
  protocol::JoinGroupRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  if (int16_t e = Unavailable(s); e != kNone) {
    protocol::JoinGroupResponse response;
    response.error_code = e;
    response.member_id = request.member_id;
    CountError(*ctx, e);
    SendResponse(*ctx, response);
    return;
  }
  group::JoinArgs args;
  args.group_id = request.group_id;
  args.member_id = request.member_id;
  args.group_instance_id = request.group_instance_id;
  args.client_id = ctx->client_id;
  args.client_host = ClientHost(*ctx);
  args.session_timeout_ms = request.session_timeout_ms;
  // v0 has no rebalance timeout: Kafka uses the session timeout.
  args.rebalance_timeout_ms =
      ctx->api_version >= 1 ? request.rebalance_timeout_ms : request.session_timeout_ms;
  args.protocol_type = request.protocol_type;
  for (auto& p : request.protocols) args.protocols.emplace_back(p.name, std::move(p.metadata));
  args.require_known_member_id = ctx->api_version >= 4;
  std::shared_ptr<RequestContext> shared(ctx.release());
  s.coordinator->Join(std::move(args),
                      [shared, member_id = request.member_id](group::JoinResult r) {
                        protocol::JoinGroupResponse response;
                        response.error_code = r.error;
                        response.generation_id = r.generation;
                        response.protocol_name = r.protocol_name;
                        response.leader = r.leader;
                        response.member_id = r.member_id.empty() ? member_id : r.member_id;
                        for (auto& [id, metadata] : r.members) {
                          auto& m = response.members.emplace_back();
                          m.member_id = id;
                          m.metadata = std::move(metadata);
                        }
                        CountError(*shared, r.error);
                        SendResponse(*shared, response);
                      });
}

void HandleSyncGroup(RequestPtr ctx) {
  protocol::SyncGroupRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  if (int16_t e = Unavailable(s); e != kNone) {
    protocol::SyncGroupResponse response;
    response.error_code = e;
    CountError(*ctx, e);
    SendResponse(*ctx, response);
    return;
  }
  group::Protocols assignments;
  for (auto& a : request.assignments) {
    assignments.emplace_back(a.member_id, std::move(a.assignment));
  }
  std::shared_ptr<RequestContext> shared(ctx.release());
  s.coordinator->Sync(request.group_id, request.generation_id, request.member_id,
                      std::move(assignments), [shared](group::SyncResult r) {
                        protocol::SyncGroupResponse response;
                        response.error_code = r.error;
                        response.assignment = std::move(r.assignment);
                        CountError(*shared, r.error);
                        SendResponse(*shared, response);
                      });
}

void HandleHeartbeat(RequestPtr ctx) {
  protocol::HeartbeatRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  protocol::HeartbeatResponse response;
  response.error_code = Unavailable(s);
  if (response.error_code == kNone) {
    response.error_code =
        s.coordinator->Heartbeat(request.group_id, request.generation_id, request.member_id);
  }
  CountError(*ctx, response.error_code);
  SendResponse(*ctx, response);
}

void HandleLeaveGroup(RequestPtr ctx) {
  protocol::LeaveGroupRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  protocol::LeaveGroupResponse response;
  std::vector<std::string> ids;
  if (ctx->api_version < 3) {
    ids.push_back(request.member_id);
  } else {
    for (const auto& m : request.members) ids.push_back(m.member_id);
  }
  std::vector<int16_t> errors(ids.size(), kNone);
  int16_t group_error = Unavailable(s);
  if (group_error == kNone) errors = s.coordinator->Leave(request.group_id, ids, &group_error);
  if (ctx->api_version < 3) {
    response.error_code = group_error != kNone ? group_error : errors[0];
  } else {
    response.error_code = group_error;
    if (group_error == kNone) {
      for (size_t i = 0; i < ids.size(); ++i) {
        auto& m = response.members.emplace_back();
        m.member_id = ids[i];
        m.group_instance_id = request.members[i].group_instance_id;
        m.error_code = errors[i];
      }
    }
  }
  CountError(*ctx, response.error_code);
  SendResponse(*ctx, response);
}

}  // namespace varve::broker
