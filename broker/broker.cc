#include "broker/broker.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "broker/broker_metrics.h"
#include "broker/group/coordinator.h"
#include "broker/group/group_log.h"
#include "broker/handlers/api_table.h"
#include "broker/metrics/http_server.h"
#include "broker/metrics/registry.h"
#include "broker/protocol/header.h"

namespace varve::broker {

// Timers over the server's TimerQueue (for handlers and the group coordinator).
class Broker::TimerAdapter : public Timers, public group::GroupTimers {
 public:
  explicit TimerAdapter(server::TimerQueue* queue) : queue_(queue) {}
  uint64_t Schedule(int64_t delay_ms, std::function<void()> fn) override {
    return queue_->Schedule(absl::Milliseconds(delay_ms), std::move(fn));
  }
  bool Cancel(uint64_t id) override { return queue_->Cancel(id); }

 private:
  server::TimerQueue* queue_;
};

protocol::OutputBuffer StartResponse(const RequestContext& ctx) {
  protocol::OutputBuffer out;
  protocol::Writer writer(&out);
  protocol::ResponseHeader header;
  header.correlation_id = ctx.correlation_id;
  header.Encode(writer, protocol::ResponseHeaderVersion(ctx.api_key, ctx.api_version));
  return out;
}

void SendOutput(RequestContext& ctx, protocol::OutputBuffer out) {
  server::ResponsePayload payload;
  for (auto& chunk : out.TakeChunks()) {
    if (auto* bytes = std::get_if<std::string>(&chunk)) {
      payload.AddBytes(std::move(*bytes));
    } else {
      auto& region = std::get<protocol::FileRegion>(chunk);
      payload.AddFile({.fd = region.fd,
                       .offset = region.offset,
                       .size = region.size,
                       .pin = std::move(region.pin)});
    }
  }
  ctx.slot.Send(std::move(payload));
}

void CloseMalformed(RequestContext& ctx, const absl::Status& why) {
  ctx.slot.Close(absl::StrCat("malformed ", protocol::ApiKeyName(ctx.api_key), " v",
                              ctx.api_version, " request (correlation id ", ctx.correlation_id,
                              ") from ", ctx.request.connection.peer, ": ", why.message()));
}

Broker::Broker(const BrokerConfig& config) : config_(config) {}

Broker::~Broker() { Stop().IgnoreError(); }

absl::StatusOr<std::unique_ptr<Broker>> Broker::Start(const BrokerConfig& config) {
  std::unique_ptr<Broker> broker(new Broker(config));
  RETURN_IF_ERROR(broker->Init());
  return broker;
}

absl::Status Broker::Init() {
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("log.dirs=", config_.data_dir, ": cannot create: ", ec.message()));
  }
  ASSIGN_OR_RETURN(store_, MetadataStore::Open(config_.data_dir + "/metadata.rocksdb"));
  ASSIGN_OR_RETURN(topics_, TopicManager::Open(config_, store_.get()));
  registry_ = std::make_unique<metrics::Registry>();
  metrics_ = std::make_unique<BrokerMetrics>(registry_.get());
  metrics_->WatchTopics(topics_.get());
  RETURN_IF_ERROR(StartGroups());

  server::ServerOptions options;
  options.host = config_.listener.host.empty() ? "0.0.0.0" : config_.listener.host;
  options.port = config_.listener.port;
  options.num_loops = config_.num_network_threads;
  options.max_request_bytes = config_.socket_request_max_bytes;
  options.connections_max_idle_ms = config_.connections_max_idle_ms;
  options.max_connections = config_.max_connections;
  options.max_connections_per_ip = config_.max_connections_per_ip;
  services_.config = &config_;
  services_.topics = topics_.get();
  services_.store = store_.get();
  services_.metrics = metrics_.get();
  services_.coordinator = coordinator_.get();
  services_.advertised = config_.advertised;
  ASSIGN_OR_RETURN(server_, server::Server::Start(options, this));
  if (!config_.advertised_explicit) services_.advertised.port = server_->port();
  timers_ = std::make_unique<TimerAdapter>(server_->timers());
  services_.timers = timers_.get();
  coordinator_->Start(timers_.get());
  metrics_->WatchServer(server_.get());
  if (config_.metrics_port >= 0) {
    ASSIGN_OR_RETURN(metrics_http_, metrics::MetricsHttpServer::Start(
                                        options.host, config_.metrics_port, registry_.get()));
  }
  retention_thread_ = std::thread([this] { RetentionLoop(); });
  return absl::OkStatus();
}

absl::Status Broker::StartGroups() {
  group::GroupLog::Options options;
  options.num_partitions = config_.offsets_topic_num_partitions;
  options.retention_ms = -1;  // the log is the source of truth for replicas; see group_log.h
  options.segment_bytes = config_.offsets_topic_segment_bytes;
  group::LoadedGroups loaded;
  std::vector<std::string> notes;
  ASSIGN_OR_RETURN(group_log_,
                   group::GroupLog::Open(topics_.get(), store_.get(), options, &loaded, &notes));
  for (const std::string& note : notes) group_warnings_.push_back(note);
  group::CoordinatorOptions c;
  c.initial_rebalance_delay_ms = config_.group_initial_rebalance_delay_ms;
  c.min_session_timeout_ms = config_.group_min_session_timeout_ms;
  c.max_session_timeout_ms = config_.group_max_session_timeout_ms;
  c.offset_metadata_max_bytes = config_.offset_metadata_max_bytes;
  c.offsets_retention_ms =
      std::min<int64_t>(config_.offsets_retention_minutes, INT64_MAX / 60000) * 60000;
  c.now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  c.partition_exists = [topics = topics_.get()](const std::string& topic, int32_t partition) {
    return topics->GetPartition(topic, partition) != nullptr;
  };
  coordinator_ =
      std::make_unique<group::GroupCoordinator>(std::move(c), group_log_.get(), std::move(loaded));
  // Offsets of topics deleted while a crash kept the broker from removing them.
  std::set<std::string> gone;
  for (const auto& g : coordinator_->ListGroups()) {
    for (const auto& f : coordinator_->FetchOffsets(g.group_id, std::nullopt)) {
      if (!topics_->Get(f.topic)) gone.insert(f.topic);
    }
  }
  for (const std::string& topic : gone) coordinator_->OnTopicDeleted(topic);
  return absl::OkStatus();
}

void Broker::RetentionLoop() {
  using Clock = std::chrono::steady_clock;
  // Capped at ~35 years so the deadlines below cannot overflow the clock.
  auto interval = [](int64_t ms) {
    return std::chrono::milliseconds(std::min(ms, int64_t{1} << 40));
  };
  const auto retention_every = interval(config_.retention_check_interval_ms);
  const auto producers_every = interval(config_.producer_id_expiration_check_interval_ms);
  Clock::time_point next_retention = Clock::now() + retention_every;
  Clock::time_point next_producers = Clock::now() + producers_every;
  std::unique_lock lock(retention_mu_);
  while (true) {
    retention_cv_.wait_until(lock, std::min(next_retention, next_producers),
                             [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    const Clock::time_point now = Clock::now();
    if (now >= next_retention) {
      topics_->ApplyRetention();
      coordinator_->ExpireGroups();
      absl::StatusOr<int> compacted = group_log_->Compact();
      if (!compacted.ok()) {
        std::fprintf(stderr, "varve-broker: rewriting __consumer_offsets failed: %s\n",
                     std::string(compacted.status().message()).c_str());
      }
      next_retention = now + retention_every;
    }
    if (now >= next_producers) {
      const int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
      topics_->ExpireProducers(wall_ms, config_.producer_id_expiration_ms);
      next_producers = now + producers_every;
    }
    lock.lock();
  }
}

int Broker::port() const { return server_ ? server_->port() : -1; }
int Broker::metrics_port() const { return metrics_http_ ? metrics_http_->port() : -1; }
const std::string& Broker::cluster_id() const { return store_->cluster_id(); }
std::vector<std::string> Broker::warnings() const {
  std::vector<std::string> out = config_.warnings;
  if (topics_) out.insert(out.end(), topics_->warnings().begin(), topics_->warnings().end());
  out.insert(out.end(), group_warnings_.begin(), group_warnings_.end());
  return out;
}

absl::Status Broker::Stop() {
  std::lock_guard lock(stop_mu_);
  if (stopped_) return absl::OkStatus();
  stopped_ = true;
  {
    std::lock_guard retention(retention_mu_);
    stopping_ = true;
  }
  retention_cv_.notify_all();
  if (retention_thread_.joinable()) retention_thread_.join();
  // Network first (no new requests; timers stop), then the logs, then the store.
  if (server_) server_->Stop();
  if (metrics_http_) metrics_http_->Stop();
  // The coordinator before the group log (whose last callbacks answer commits), and both
  // before the logs they append to.
  if (coordinator_) coordinator_->Stop();
  if (group_log_) group_log_->Stop();
  absl::Status status;
  if (topics_) status = topics_->Close();
  return status;
}

void Broker::Handle(server::Request request, server::ResponseSlot slot) {
  auto ctx = std::make_unique<RequestContext>();
  ctx->request = std::move(request);
  ctx->slot = std::move(slot);
  ctx->services = &services_;
  protocol::Reader reader(absl::MakeSpan(ctx->request.frame));
  protocol::RequestHeader header;
  if (absl::Status s = protocol::DecodeRequestHeader(reader, &header); !s.ok()) {
    ctx->slot.Close(absl::StrCat("malformed request header from ", ctx->request.connection.peer,
                                 ": ", s.message()));
    return;
  }
  ctx->api_key = header.request_api_key;
  ctx->api_version = header.request_api_version;
  ctx->correlation_id = header.correlation_id;
  ctx->client_id = header.client_id.value_or("");
  ctx->body_offset = reader.position();
  const ApiEntry* api = FindApi(ctx->api_key);
  if (!api) {
    ctx->slot.Close(
        absl::StrCat("unsupported API key ", ctx->api_key, " from ", ctx->request.connection.peer));
    return;
  }
  // ApiVersions answers versions above its range itself (KIP-511); anything else out of range
  // was never advertised, and Kafka closes the connection.
  if (ctx->api_key != 18 &&
      (ctx->api_version < api->min_version || ctx->api_version > api->max_version)) {
    ctx->slot.Close(absl::StrCat("unsupported ", protocol::ApiKeyName(ctx->api_key), " version ",
                                 ctx->api_version, " from ", ctx->request.connection.peer));
    return;
  }
  metrics_->CountRequest(ctx->api_key);
  api->handler(std::move(ctx));
}

}  // namespace varve::broker
