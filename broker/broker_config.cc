#include "broker/broker_config.h"

#include <functional>
#include <limits>
#include <optional>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "log/durability.h"

namespace varve::broker {
namespace {

absl::Status BadValue(const Property& p, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(p.source, ": ", p.key, "=\"", p.value, "\": ", why));
}

absl::StatusOr<int64_t> Int(const Property& p, int64_t min, int64_t max) {
  int64_t v;
  if (!absl::SimpleAtoi(p.value, &v)) return BadValue(p, "not an integer");
  if (v < min || v > max) {
    return BadValue(p, absl::StrCat("out of range [", min, ", ", max, "]"));
  }
  return v;
}

absl::StatusOr<bool> Bool(const Property& p) {
  const std::string v = absl::AsciiStrToLower(p.value);
  if (v == "true") return true;
  if (v == "false") return false;
  return BadValue(p, "expected true or false");
}

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

}  // namespace

absl::StatusOr<Endpoint> ParseListener(const std::string& value) {
  absl::string_view v = absl::StripAsciiWhitespace(value);
  if (absl::StrContains(v, ",")) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", value, "\": only one listener is supported"));
  }
  if (const size_t scheme = v.find("://"); scheme != absl::string_view::npos) {
    absl::string_view name = v.substr(0, scheme);
    if (name != "PLAINTEXT") {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", value, "\": listener ", name, " is not supported (only PLAINTEXT)"));
    }
    v.remove_prefix(scheme + 3);
  }
  const size_t colon = v.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("\"", value, "\": expected host:port"));
  }
  Endpoint e;
  e.host = std::string(v.substr(0, colon));
  if (absl::StartsWith(e.host, "[") && absl::EndsWith(e.host, "]")) {
    e.host = e.host.substr(1, e.host.size() - 2);
  }
  if (!absl::SimpleAtoi(v.substr(colon + 1), &e.port) || e.port < 0 || e.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", value, "\": port must be a number in [0, 65535]"));
  }
  return e;
}

absl::StatusOr<BrokerConfig> BrokerConfig::FromProperties(const std::vector<Property>& props) {
  BrokerConfig c;
  // Retention may be given in hours, minutes or ms; Kafka lets the finest unit win.
  std::optional<int64_t> retention_hours, retention_minutes, retention_ms;
  std::optional<int64_t> roll_hours, roll_ms;
  std::map<std::string, std::string> log_props;  // log-level keys renamed to topic keys

  using Setter = std::function<absl::Status(const Property&)>;
  auto int_into = [](auto* field, int64_t min, int64_t max) {
    return [field, min, max](const Property& p) -> absl::Status {
      ASSIGN_OR_RETURN(int64_t v, Int(p, min, max));
      *field = static_cast<std::remove_pointer_t<decltype(field)>>(v);
      return absl::OkStatus();
    };
  };
  auto opt_into = [](std::optional<int64_t>* field, int64_t min) {
    return [field, min](const Property& p) -> absl::Status {
      ASSIGN_OR_RETURN(int64_t v, Int(p, min, kMax));
      *field = v;
      return absl::OkStatus();
    };
  };
  auto topic_key = [&](std::string topic_name) {
    return [&log_props, topic_name](const Property& p) -> absl::Status {
      // Checked alone first so the error names where the value came from.
      absl::StatusOr<LogConfig> alone = LogConfig::FromProperties({{topic_name, p.value}});
      if (!alone.ok()) return BadValue(p, alone.status().message());
      log_props[topic_name] = p.value;
      return absl::OkStatus();
    };
  };
  const std::map<std::string, Setter> setters = {
      {"listeners",
       [&](const Property& p) -> absl::Status {
         auto e = ParseListener(p.value);
         if (!e.ok()) return BadValue(p, e.status().message());
         c.listener = *e;
         return absl::OkStatus();
       }},
      {"advertised.listeners",
       [&](const Property& p) -> absl::Status {
         auto e = ParseListener(p.value);
         if (!e.ok()) return BadValue(p, e.status().message());
         c.advertised = *e;
         c.advertised_explicit = true;
         return absl::OkStatus();
       }},
      {"log.dirs",
       [&](const Property& p) -> absl::Status {
         if (p.value.empty()) return BadValue(p, "empty");
         if (absl::StrContains(p.value, ",")) {
           return BadValue(p, "only one data directory is supported");
         }
         c.data_dir = p.value;
         return absl::OkStatus();
       }},
      {"node.id", int_into(&c.node_id, 0, std::numeric_limits<int32_t>::max())},
      {"num.partitions", int_into(&c.num_partitions, 1, 1 << 20)},
      {"default.replication.factor", int_into(&c.default_replication_factor, 1, 1)},
      {"auto.create.topics.enable",
       [&](const Property& p) -> absl::Status {
         ASSIGN_OR_RETURN(c.auto_create_topics, Bool(p));
         return absl::OkStatus();
       }},
      {"socket.request.max.bytes", int_into(&c.socket_request_max_bytes, 1024, 1LL << 31)},
      {"num.network.threads", int_into(&c.num_network_threads, 1, 64)},
      {"connections.max.idle.ms",
       [&](const Property& p) -> absl::Status {
         RETURN_IF_ERROR(int_into(&c.connections_max_idle_ms, -1, kMax)(p));
         if (c.connections_max_idle_ms == 0) return BadValue(p, "0 (use -1 to never close)");
         return absl::OkStatus();
       }},
      {"max.connections", int_into(&c.max_connections, 0, std::numeric_limits<int32_t>::max())},
      {"max.connections.per.ip",
       int_into(&c.max_connections_per_ip, 0, std::numeric_limits<int32_t>::max())},
      {"metrics.port", int_into(&c.metrics_port, -1, 65535)},
      {"log.retention.check.interval.ms", int_into(&c.retention_check_interval_ms, 1, kMax)},
      {"group.initial.rebalance.delay.ms", int_into(&c.group_initial_rebalance_delay_ms, 0, kMax)},
      {"group.min.session.timeout.ms", int_into(&c.group_min_session_timeout_ms, 0, kMax)},
      {"group.max.session.timeout.ms", int_into(&c.group_max_session_timeout_ms, 0, kMax)},
      {"offsets.retention.minutes", int_into(&c.offsets_retention_minutes, 1, kMax)},
      {"offset.metadata.max.bytes", int_into(&c.offset_metadata_max_bytes, 0, 1 << 30)},
      {"offsets.topic.num.partitions", int_into(&c.offsets_topic_num_partitions, 1, 1000)},
      {"offsets.topic.segment.bytes", int_into(&c.offsets_topic_segment_bytes, 1024, 1LL << 30)},
      {"producer.id.expiration.ms", int_into(&c.producer_id_expiration_ms, 1, kMax)},
      {"producer.id.expiration.check.interval.ms",
       int_into(&c.producer_id_expiration_check_interval_ms, 1, kMax)},
      {"log.retention.hours", opt_into(&retention_hours, -1)},
      {"log.retention.minutes", opt_into(&retention_minutes, -1)},
      {"log.retention.ms", opt_into(&retention_ms, -1)},
      {"log.roll.hours", opt_into(&roll_hours, 1)},
      {"log.roll.ms", opt_into(&roll_ms, 1)},
      {"log.segment.bytes", topic_key("segment.bytes")},
      {"log.retention.bytes", topic_key("retention.bytes")},
      {"message.max.bytes", topic_key("max.message.bytes")},
      {"log.index.interval.bytes", topic_key("index.interval.bytes")},
      {"log.index.size.max.bytes", topic_key("segment.index.bytes")},
      {"log.flush.interval.ms", topic_key("flush.ms")},
      {"varve.durability", topic_key("varve.durability")},
      {"varve.flush.bytes", topic_key("varve.flush.bytes")},
  };
  const std::map<std::string, std::string> aliases = {{"broker.id", "node.id"},
                                                      {"log.dir", "log.dirs"}};

  for (const Property& raw : props) {
    Property p = raw;
    if (auto a = aliases.find(p.key); a != aliases.end()) p.key = a->second;
    auto it = setters.find(p.key);
    if (it == setters.end()) {
      c.warnings.push_back(
          absl::StrCat(raw.source, ": unknown key \"", raw.key, "\" ignored (see docs/broker.md)"));
      continue;
    }
    RETURN_IF_ERROR(it->second(p));
  }

  auto to_ms = [](std::optional<int64_t> v, int64_t unit) -> std::optional<int64_t> {
    if (!v) return std::nullopt;
    return *v < 0 ? -1 : *v * unit;
  };
  if (auto ms = retention_ms ? retention_ms
                             : (retention_minutes ? to_ms(retention_minutes, 60'000)
                                                  : to_ms(retention_hours, 3'600'000))) {
    log_props["retention.ms"] = absl::StrCat(*ms);
  } else {
    log_props.emplace("retention.ms", absl::StrCat(7LL * 24 * 3'600'000));
  }
  if (auto ms = roll_ms ? roll_ms : to_ms(roll_hours, 3'600'000)) {
    log_props["segment.ms"] = absl::StrCat(*ms);
  }
  absl::StatusOr<LogConfig> log = LogConfig::FromProperties(log_props);
  if (!log.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("log settings together: ", log.status().message()));
  }
  c.log_defaults = *log;
  if (!c.advertised_explicit) {
    c.advertised = c.listener;
    if (c.listener.host.empty() || c.listener.host == "0.0.0.0" || c.listener.host == "::") {
      return absl::InvalidArgumentError(
          absl::StrCat("listeners binds every interface (\"", c.listener.host,
                       "\"): set advertised.listeners to the address clients should connect to"));
    }
  }
  if (c.group_min_session_timeout_ms > c.group_max_session_timeout_ms) {
    return absl::InvalidArgumentError(
        "group.min.session.timeout.ms is larger than group.max.session.timeout.ms");
  }
  return c;
}

}  // namespace varve::broker
