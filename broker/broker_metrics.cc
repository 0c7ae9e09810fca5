#include "broker/broker_metrics.h"

#include "absl/strings/str_cat.h"
#include "broker/errors.h"
#include "broker/metrics/registry.h"
#include "broker/protocol/header.h"
#include "broker/server/server.h"
#include "broker/topics.h"

namespace varve::broker {

struct BrokerMetrics::Impl {
  struct TopicSeries {
    metrics::Counter* bytes_in;
    metrics::Counter* records_in;
    metrics::Counter* bytes_out;
    metrics::Counter* records_out;
  };

  explicit Impl(metrics::Registry* r)
      : registry(r),
        requests(r->AddCounterFamily("varve_requests_total", "Requests handled, by API.", {"api"})),
        errors(r->AddCounterFamily("varve_request_errors_total",
                                   "Errors returned (per partition or per request), by API and "
                                   "Kafka error name.",
                                   {"api", "error"})),
        bytes_in(r->AddCounterFamily("varve_bytes_in_total",
                                     "Record batch bytes appended by Produce, by topic.",
                                     {"topic"})),
        records_in(r->AddCounterFamily("varve_records_in_total",
                                       "Records appended by Produce, by topic.", {"topic"})),
        bytes_out(r->AddCounterFamily("varve_bytes_out_total",
                                      "Record batch bytes sent by Fetch, by topic.", {"topic"})),
        records_out(r->AddCounterFamily(
            "varve_records_out_total",
            "Offsets sent by Fetch (whole batches: may include records before the fetch "
            "offset), by topic.",
            {"topic"})),
        produce_latency(r->AddHistogram(
            "varve_produce_latency_seconds",
            "Produce requests, from the complete frame to the response (acks=-1 includes the "
            "fdatasync).",
            metrics::DefaultLatencyBuckets())),
        fetch_latency(r->AddHistogram(
            "varve_fetch_latency_seconds",
            "Fetch requests, from the complete frame to the response (includes long-poll waits).",
            metrics::DefaultLatencyBuckets())) {
    for (int16_t key = 0; key < kRequestSlots; ++key) request_counters[key] = nullptr;
  }

  TopicSeries* SeriesFor(const std::string& topic) {
    std::lock_guard lock(mu);
    auto it = topics.find(topic);
    if (it != topics.end()) return it->second.get();
    const std::string labels[] = {topic};
    auto series = std::make_unique<TopicSeries>(
        TopicSeries{bytes_in->WithLabels(labels), records_in->WithLabels(labels),
                    bytes_out->WithLabels(labels), records_out->WithLabels(labels)});
    return topics.emplace(topic, std::move(series)).first->second.get();
  }

  static constexpr int16_t kRequestSlots = 64;
  metrics::Registry* registry;
  metrics::Family<metrics::Counter>* requests;
  metrics::Family<metrics::Counter>* errors;
  metrics::Family<metrics::Counter>* bytes_in;
  metrics::Family<metrics::Counter>* records_in;
  metrics::Family<metrics::Counter>* bytes_out;
  metrics::Family<metrics::Counter>* records_out;
  metrics::Histogram* produce_latency;
  metrics::Histogram* fetch_latency;
  std::atomic<metrics::Counter*> request_counters[kRequestSlots];
  std::mutex mu;
  std::unordered_map<std::string, std::unique_ptr<TopicSeries>> topics;
};

BrokerMetrics::BrokerMetrics(metrics::Registry* registry)
    : impl_(std::make_unique<Impl>(registry)) {}

BrokerMetrics::~BrokerMetrics() = default;

void BrokerMetrics::WatchTopics(const TopicManager* topics) {
  auto per_partition = [topics](auto value) {
    return [topics, value](metrics::SampleWriter& out) {
      for (const auto& topic : topics->List()) {
        for (const auto& p : topic->partitions) {
          const std::string labels[] = {p->tp().topic, absl::StrCat(p->tp().partition)};
          out.Add(labels, static_cast<double>(value(p->log())));
        }
      }
    };
  };
  metrics::Registry* r = impl_->registry;
  r->AddCallbackFamily(metrics::MetricType::kGauge, "varve_log_end_offset",
                       "The offset the next appended record will get.", {"topic", "partition"},
                       per_partition([](const Log& log) { return log.end_offset(); }));
  r->AddCallbackFamily(metrics::MetricType::kGauge, "varve_log_start_offset",
                       "The first offset still in the log.", {"topic", "partition"},
                       per_partition([](const Log& log) { return log.start_offset(); }));
  r->AddCallbackFamily(metrics::MetricType::kGauge, "varve_log_size_bytes",
                       "Bytes of the partition's segment files (.log).", {"topic", "partition"},
                       per_partition([](const Log& log) { return log.SizeBytes(); }));
}

void BrokerMetrics::WatchServer(const server::Server* server) {
  metrics::Registry* r = impl_->registry;
  r->AddCallbackGauge("varve_connections", "Client connections open.",
                      [server] { return static_cast<double>(server->stats().connections_open); });
  r->AddCallbackCounter(
      "varve_connections_accepted_total", "Client connections accepted.",
      [server] { return static_cast<double>(server->stats().connections_accepted); });
  r->AddCallbackCounter(
      "varve_connections_closed_idle_total",
      "Client connections closed after connections.max.idle.ms without traffic.",
      [server] { return static_cast<double>(server->stats().connections_closed_idle); });
  r->AddCallbackCounter(
      "varve_connections_rejected_total",
      "Client connections closed at accept by max.connections or max.connections.per.ip.",
      [server] { return static_cast<double>(server->stats().connections_rejected); });
  r->AddCallbackCounter("varve_network_bytes_in_total", "Bytes read from client sockets.",
                        [server] { return static_cast<double>(server->stats().bytes_received); });
  r->AddCallbackCounter("varve_network_bytes_out_total", "Bytes written to client sockets.",
                        [server] { return static_cast<double>(server->stats().bytes_sent); });
}

void BrokerMetrics::CountRequest(int16_t api_key) {
  if (api_key < 0 || api_key >= Impl::kRequestSlots) return;
  metrics::Counter* c = impl_->request_counters[api_key].load(std::memory_order_acquire);
  if (!c) {
    const std::string labels[] = {protocol::ApiKeyName(api_key)};
    c = impl_->requests->WithLabels(labels);
    impl_->request_counters[api_key].store(c, std::memory_order_release);
  }
  c->Increment();
}

void BrokerMetrics::CountError(int16_t api_key, int16_t error_code) {
  const std::string labels[] = {protocol::ApiKeyName(api_key), ErrorName(error_code)};
  impl_->errors->WithLabels(labels)->Increment();
}

void BrokerMetrics::CountProduced(const std::string& topic, int64_t bytes, int64_t records) {
  Impl::TopicSeries* s = impl_->SeriesFor(topic);
  s->bytes_in->Increment(static_cast<double>(bytes));
  s->records_in->Increment(static_cast<double>(records));
}

void BrokerMetrics::CountFetched(const std::string& topic, int64_t bytes, int64_t records) {
  Impl::TopicSeries* s = impl_->SeriesFor(topic);
  s->bytes_out->Increment(static_cast<double>(bytes));
  s->records_out->Increment(static_cast<double>(records));
}

void BrokerMetrics::ObserveProduceLatency(int64_t ns) {
  impl_->produce_latency->Observe(static_cast<double>(ns) * 1e-9);
}

void BrokerMetrics::ObserveFetchLatency(int64_t ns) {
  impl_->fetch_latency->Observe(static_cast<double>(ns) * 1e-9);
}

}  // namespace varve::broker
