#pragma once

// Registry: the broker's Prometheus metrics, rendered in the text exposition format 0.0.4.
//
// A metric family has a name, help text, a type and label names; its children are the series,
// one per combination of label values. Families hold live cells (metric.h) or, for values that
// already live elsewhere (log end offsets, disk usage, the network layer's counters), a callback
// that produces the samples at scrape time.
//
// Example:
//   Registry registry;
//   Family<Counter>* requests = registry.AddCounterFamily(
//       "varve_requests_total", "Requests handled, by API.", {"api"});
//   Counter* produce = requests->WithLabels({"produce"});   // cache on the hot path
//   produce->Increment();
//   Histogram* latency = registry.AddHistogram("varve_produce_seconds", "Produce latency.",
//                                              DefaultLatencyBuckets());
//   registry.AddCallbackFamily(MetricType::kGauge, "varve_log_end_offset", "Log end offset.",
//                              {"topic", "partition"}, [&](SampleWriter& out) {
//                                for (auto& p : partitions) out.Add({p.topic, p.id}, p.leo);
//                              });
//   std::string text = registry.Render();
//
// Output order is deterministic: families by name, series by label values, so scrapes diff
// cleanly and tests can compare whole strings.
//
// Threading: everything may be called from any thread. Updating a cell is lock-free. Creating a
// family or a child takes a mutex. Render() holds the registry's mutex while it runs the
// callbacks, so a callback must not call into the same Registry (it would deadlock) and should
// be quick (it runs on the scraping thread, e.g. the MetricsHttpServer's). After Remove(name)
// returns, that family's callback is not running and will not run again.
//
// Misuse is a programming error that aborts with a message: an invalid metric or label name,
// a name registered again with a different type, label names or buckets, a wrong number of
// label values. Registering the same definition again returns the existing family.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "broker/metrics/metric.h"

namespace varve::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// Common part of all families (internal to the registry).
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Appends the samples (without HELP/TYPE lines); nothing if there are no series.
  virtual void RenderSamples(std::string* out) const = 0;

 protected:
  void CheckLabelCount(size_t count) const;

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
};

// A family of cells of type T (Counter, Gauge or Histogram).
template <typename T>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         std::vector<double> bounds);

  // The series for these label values (one per label name, in order), created on first use.
  // The pointer stays valid until Remove of these values or of the family, or the Registry's
  // destruction.
  T* WithLabels(absl::Span<const std::string> label_values);
  // Removes a series (e.g. a deleted topic's). Only when no thread can still use its pointer.
  bool Remove(absl::Span<const std::string> label_values);

  void RenderSamples(std::string* out) const override;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // guarded by mu_
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

class CallbackFamily;

// Receives the samples of a callback family during Render().
class SampleWriter {
 public:
  // One value per label name of the family, in order. A wrong count drops the sample (and
  // logs to stderr): a scrape must not abort the broker.
  void Add(absl::Span<const std::string> label_values, double value);
  // For families without labels.
  void Add(double value) { Add({}, value); }

 private:
  friend class CallbackFamily;
  explicit SampleWriter(const FamilyBase* family) : family_(family) {}
  const FamilyBase* family_;
  std::vector<std::pair<std::vector<std::string>, double>> samples_;
};

using CollectFunction = std::function<void(SampleWriter&)>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>* AddCounterFamily(absl::string_view name, absl::string_view help,
                                    std::vector<std::string> label_names);
  Family<Gauge>* AddGaugeFamily(absl::string_view name, absl::string_view help,
                                std::vector<std::string> label_names);
  // `bounds`: strictly increasing finite upper bounds; +Inf is implicit (a trailing +Inf given
  // explicitly is dropped).
  Family<Histogram>* AddHistogramFamily(absl::string_view name, absl::string_view help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds);

  // Families without labels: the single series.
  Counter* AddCounter(absl::string_view name, absl::string_view help);
  Gauge* AddGauge(absl::string_view name, absl::string_view help);
  Histogram* AddHistogram(absl::string_view name, absl::string_view help,
                          std::vector<double> bounds);

  // Values computed at scrape time. `type` is kCounter or kGauge. Registering a callback under
  // a name that already has a callback family of the same type and labels replaces it.
  void AddCallbackFamily(MetricType type, absl::string_view name, absl::string_view help,
                         std::vector<std::string> label_names, CollectFunction collect);
  void AddCallbackGauge(absl::string_view name, absl::string_view help,
                        std::function<double()> value);
  void AddCallbackCounter(absl::string_view name, absl::string_view help,
                          std::function<double()> value);

  // Removes a family; its pointers dangle afterwards. Returns false if there was none.
  bool Remove(absl::string_view name);

  // The whole registry in the text exposition format 0.0.4 (Content-Type
  // "text/plain; version=0.0.4"). Families without series are omitted.
  std::string Render() const;

 private:
  template <typename T>
  Family<T>* AddCellFamily(MetricType type, absl::string_view name, absl::string_view help,
                           std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;  // guarded by mu_
};

}  // namespace varve::metrics
