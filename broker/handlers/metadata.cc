// Metadata (API 3), v0-v7: reference §4.1 and §4.3.
//
// v0: an empty topic list means all topics; v1+: null means all, empty means none. A named
// topic that does not exist is created on the spot (num.partitions, synchronously, so the same
// response carries its full metadata) when auto.create.topics.enable is on, the request allows
// it (implicitly for v0-v3), and the request is not an all-topics request.

#include "broker/errors.h"
#include "broker/group/records.h"
#include "broker/handlers/handlers.h"
#include "broker/protocol/generated/metadata_request.h"
#include "broker/protocol/generated/metadata_response.h"

namespace varve::broker {
namespace {

using protocol::MetadataResponse;

void Describe(const Topic& topic, int32_t node_id, MetadataResponse::MetadataResponseTopic* out) {
  out->error_code = kNone;
  out->name = topic.record.name;
  out->is_internal = topic.record.name == group::kOffsetsTopic;
  out->partitions.reserve(topic.partitions.size());
  for (size_t p = 0; p < topic.partitions.size(); ++p) {
    MetadataResponse::MetadataResponsePartition& part = out->partitions.emplace_back();
    part.error_code = kNone;
    part.partition_index = static_cast<int32_t>(p);
    part.leader_id = node_id;
    part.leader_epoch = topic.partitions[p]->log().leader_epoch();
    part.replica_nodes = {node_id};
    part.isr_nodes = {node_id};
    part.offline_replicas = {};
  }
}

}  // namespace

void HandleMetadata(RequestPtr ctx) {
  protocol::MetadataRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  const int32_t node = s.config->node_id;
  MetadataResponse response;
  MetadataResponse::MetadataResponseBroker& broker = response.brokers.emplace_back();
  broker.node_id = node;
  broker.host = s.advertised.host;
  broker.port = s.advertised.port;
  broker.rack = std::nullopt;
  response.cluster_id = s.store->cluster_id();
  response.controller_id = node;

  const bool all_topics =
      !request.topics.has_value() || (ctx->api_version == 0 && request.topics->empty());
  if (all_topics) {
    for (const auto& topic : s.topics->List())
      Describe(*topic, node, &response.topics.emplace_back());
  } else {
    const bool may_create =
        s.config->auto_create_topics && (ctx->api_version < 4 || request.allow_auto_topic_creation);
    for (const auto& wanted : *request.topics) {
      const std::string name = wanted.name.value_or("");
      MetadataResponse::MetadataResponseTopic& out = response.topics.emplace_back();
      out.name = name;
      std::shared_ptr<const Topic> topic = s.topics->Get(name);
      if (!topic && may_create) {
        TopicError created = s.topics->Create(name, -1, -1, {}, /*validate_only=*/false);
        if (created.code == kInvalidTopicException) {
          out.error_code = kInvalidTopicException;
          continue;
        }
        topic = s.topics->Get(name);  // also when a concurrent request created it first
      }
      if (!topic) {
        out.error_code = kUnknownTopicOrPartition;
        continue;
      }
      Describe(*topic, node, &out);
    }
  }
  SendResponse(*ctx, response);
}

}  // namespace varve::broker
