// Topic administration and producer ids: CreateTopics (19) v0-v4, DeleteTopics (20) v0-v3,
// DescribeConfigs (32) v0-v2, InitProducerId (22) v0-v1. Reference §4.1.
//
// These touch the disk (directories, RocksDB syncs) on the loop thread: they are rare admin
// operations, each a few milliseconds, and clients expect them answered synchronously.

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "broker/broker_metrics.h"
#include "broker/errors.h"
#include "broker/group/coordinator.h"
#include "broker/group/records.h"
#include "broker/handlers/handlers.h"
#include "broker/protocol/generated/create_topics_request.h"
#include "broker/protocol/generated/create_topics_response.h"
#include "broker/protocol/generated/delete_topics_request.h"
#include "broker/protocol/generated/delete_topics_response.h"
#include "broker/protocol/generated/describe_configs_request.h"
#include "broker/protocol/generated/describe_configs_response.h"
#include "broker/protocol/generated/init_producer_id_request.h"
#include "broker/protocol/generated/init_producer_id_response.h"
#include "log/durability.h"

namespace varve::broker {
namespace {

void CountError(const RequestContext& ctx, int16_t code) {
  if (code != kNone && ctx.services->metrics) ctx.services->metrics->CountError(ctx.api_key, code);
}

// A topic's effective configs, by Kafka name, and whether each is set on the topic itself.
std::vector<std::pair<std::string, std::string>> TopicConfigValues(const LogConfig& c) {
  return {
      {"cleanup.policy", "delete"},
      {"compression.type", "producer"},
      {"flush.ms", absl::StrCat(c.flush_interval_ms)},
      {"index.interval.bytes", absl::StrCat(c.index_interval_bytes)},
      {"max.message.bytes", absl::StrCat(c.max_message_bytes)},
      {"message.timestamp.type", "CreateTime"},
      {"min.insync.replicas", "1"},
      {"retention.bytes", absl::StrCat(c.retention_bytes)},
      {"retention.ms", absl::StrCat(c.retention_ms)},
      {"segment.bytes", absl::StrCat(c.segment_bytes)},
      {"segment.index.bytes", absl::StrCat(c.segment_index_bytes)},
      {"segment.jitter.ms", absl::StrCat(c.segment_jitter_ms)},
      {"segment.ms", absl::StrCat(c.segment_ms)},
      {"unclean.leader.election.enable", "false"},
      {"varve.durability", DurabilityModeName(c.durability)},
      {"varve.flush.bytes", absl::StrCat(c.flush_interval_bytes)},
  };
}

std::vector<std::pair<std::string, std::string>> BrokerConfigValues(const Services& s) {
  const BrokerConfig& c = *s.config;
  auto ep = [](const Endpoint& e) { return absl::StrCat("PLAINTEXT://", e.host, ":", e.port); };
  return {
      {"advertised.listeners", ep(s.advertised)},
      {"auto.create.topics.enable", c.auto_create_topics ? "true" : "false"},
      {"broker.id", absl::StrCat(c.node_id)},
      {"listeners", ep(c.listener)},
      {"log.dirs", c.data_dir},
      {"log.retention.bytes", absl::StrCat(c.log_defaults.retention_bytes)},
      {"log.retention.ms", absl::StrCat(c.log_defaults.retention_ms)},
      {"log.segment.bytes", absl::StrCat(c.log_defaults.segment_bytes)},
      {"message.max.bytes", absl::StrCat(c.log_defaults.max_message_bytes)},
      {"metrics.port", absl::StrCat(c.metrics_port)},
      {"node.id", absl::StrCat(c.node_id)},
      {"num.network.threads", absl::StrCat(c.num_network_threads)},
      {"num.partitions", absl::StrCat(c.num_partitions)},
      {"socket.request.max.bytes", absl::StrCat(c.socket_request_max_bytes)},
      {"varve.durability", DurabilityModeName(c.log_defaults.durability)},
  };
}

// DescribeConfigs ConfigSource values (v1+).
constexpr int8_t kDynamicTopicConfig = 1;
constexpr int8_t kStaticBrokerConfig = 4;
constexpr int8_t kDefaultConfig = 5;
constexpr int8_t kResourceTopic = 2;
constexpr int8_t kResourceBroker = 4;

}  // namespace

void HandleCreateTopics(RequestPtr ctx) {
  protocol::CreateTopicsRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  protocol::CreateTopicsResponse response;
  std::map<std::string, int> seen;
  for (const auto& t : request.topics) ++seen[t.name];
  for (const auto& t : request.topics) {
    auto& out = response.topics.emplace_back();
    out.name = t.name;
    auto fail = [&](int16_t code, std::string message) {
      out.error_code = code;
      out.error_message = std::move(message);
      CountError(*ctx, code);
    };
    if (seen[t.name] > 1) {
      fail(kInvalidRequest, "topic named more than once in the request");
      continue;
    }
    if (t.name == group::kOffsetsTopic) {
      fail(kInvalidTopicException, "__consumer_offsets is internal (the broker creates it)");
      continue;
    }
    int32_t partitions = t.num_partitions;
    int16_t replication = t.replication_factor;
    if (!t.assignments.empty()) {
      if (partitions != -1 || replication != -1) {
        fail(kInvalidRequest, "assignments given with NumPartitions or ReplicationFactor set");
        continue;
      }
      bool valid = true;
      std::set<int32_t> indexes;
      for (const auto& a : t.assignments) {
        valid &= a.broker_ids == std::vector<int32_t>{s.config->node_id};
        indexes.insert(a.partition_index);
      }
      valid &= *indexes.begin() == 0 &&
               *indexes.rbegin() == static_cast<int32_t>(indexes.size()) - 1 &&
               indexes.size() == t.assignments.size();
      if (!valid) {
        fail(kInvalidReplicaAssignment,
             absl::StrCat("every partition 0..n-1 must be assigned to exactly broker ",
                          s.config->node_id));
        continue;
      }
      partitions = static_cast<int32_t>(t.assignments.size());
      replication = 1;
    }
    std::map<std::string, std::string> configs;
    bool null_config = false;
    for (const auto& c : t.configs) {
      if (!c.value.has_value()) {
        null_config = true;
        break;
      }
      configs[c.name] = *c.value;
    }
    if (null_config) {
      fail(kInvalidConfig, "config values may not be null");
      continue;
    }
    TopicError e =
        s.topics->Create(t.name, partitions, replication, configs, request.validate_only);
    if (!e.ok()) fail(e.code, e.message);
  }
  SendResponse(*ctx, response);
}

void HandleDeleteTopics(RequestPtr ctx) {
  protocol::DeleteTopicsRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  protocol::DeleteTopicsResponse response;
  for (const std::string& name : request.topic_names) {
    auto& out = response.responses.emplace_back();
    out.name = name;
    if (name == group::kOffsetsTopic) {
      out.error_code = kInvalidTopicException;  // internal: holds every group's state
      CountError(*ctx, out.error_code);
      continue;
    }
    TopicError e = ctx->services->topics->Delete(name);
    out.error_code = e.code;
    if (e.ok() && ctx->services->coordinator) ctx->services->coordinator->OnTopicDeleted(name);
    CountError(*ctx, e.code);
  }
  SendResponse(*ctx, response);
}

void HandleInitProducerId(RequestPtr ctx) {
  protocol::InitProducerIdRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  protocol::InitProducerIdResponse response;
  response.producer_id = -1;
  response.producer_epoch = -1;
  if (request.transactional_id.has_value()) {
    // Transactions are not implemented; idempotence (no transactional id) is.
    response.error_code = kInvalidRequest;
  } else {
    absl::StatusOr<int64_t> id = ctx->services->store->AllocateProducerId();
    if (id.ok()) {
      response.producer_id = *id;
      response.producer_epoch = 0;
    } else {
      response.error_code = kUnknownServerError;
    }
  }
  CountError(*ctx, response.error_code);
  SendResponse(*ctx, response);
}

void HandleDescribeConfigs(RequestPtr ctx) {
  protocol::DescribeConfigsRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  const Services& s = *ctx->services;
  protocol::DescribeConfigsResponse response;
  for (const auto& resource : request.resources) {
    auto& out = response.results.emplace_back();
    out.resource_type = resource.resource_type;
    out.resource_name = resource.resource_name;
    std::vector<std::pair<std::string, std::string>> values;
    std::set<std::string> explicit_keys;
    if (resource.resource_type == kResourceTopic) {
      std::shared_ptr<const Topic> topic = s.topics->Get(resource.resource_name);
      if (!topic) {
        out.error_code = kUnknownTopicOrPartition;
        out.error_message = absl::StrCat("topic ", resource.resource_name, " does not exist");
        CountError(*ctx, out.error_code);
        continue;
      }
      values = TopicConfigValues(topic->config);
      for (const auto& [k, v] : topic->record.configs) explicit_keys.insert(k);
    } else if (resource.resource_type == kResourceBroker) {
      if (!resource.resource_name.empty() &&
          resource.resource_name != absl::StrCat(s.config->node_id)) {
        out.error_code = kInvalidRequest;
        out.error_message = absl::StrCat("unknown broker ", resource.resource_name);
        CountError(*ctx, out.error_code);
        continue;
      }
      values = BrokerConfigValues(s);
    } else {
      out.error_code = kInvalidRequest;
      out.error_message = absl::StrCat("resource type ", resource.resource_type, " not supported");
      CountError(*ctx, out.error_code);
      continue;
    }
    std::set<std::string> wanted;
    if (resource.configuration_keys.has_value()) {
      wanted.insert(resource.configuration_keys->begin(), resource.configuration_keys->end());
    }
    for (const auto& [name, value] : values) {
      if (!wanted.empty() && !wanted.count(name)) continue;
      auto& c = out.configs.emplace_back();
      c.name = name;
      c.value = value;
      c.read_only = resource.resource_type == kResourceBroker;
      const bool is_explicit = explicit_keys.count(name) > 0;
      c.is_default = !is_explicit && resource.resource_type == kResourceTopic;
      c.config_source = resource.resource_type == kResourceBroker
                            ? kStaticBrokerConfig
                            : (is_explicit ? kDynamicTopicConfig : kDefaultConfig);
      c.is_sensitive = false;
    }
  }
  SendResponse(*ctx, response);
}

}  // namespace varve::broker
