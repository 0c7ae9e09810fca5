#include "broker/metrics/registry.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/metrics/text_format.h"

namespace varve::metrics {
namespace {

[[noreturn]] void Die(absl::string_view message) {
  std::fprintf(stderr, "varve metrics: %.*s\n", static_cast<int>(message.size()), message.data());
  std::abort();
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Appends `name{l1="v1",l2="v2"[,extra]} ` for one series.
void AppendSeries(absl::string_view name, const std::vector<std::string>& label_names,
                  absl::Span<const std::string> label_values, absl::string_view extra_label,
                  std::string* out) {
  out->append(name.data(), name.size());
  if (!label_names.empty() || !extra_label.empty()) {
    out->push_back('{');
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (i > 0) out->push_back(',');
      absl::StrAppend(out, label_names[i], "=\"");
      AppendEscapedLabelValue(label_values[i], out);
      out->push_back('"');
    }
    if (!extra_label.empty()) {
      if (!label_names.empty()) out->push_back(',');
      out->append(extra_label.data(), extra_label.size());
    }
    out->push_back('}');
  }
  out->push_back(' ');
}

void AppendSample(absl::string_view name, const std::vector<std::string>& label_names,
                  absl::Span<const std::string> label_values, double value, std::string* out) {
  AppendSeries(name, label_names, label_values, "", out);
  AppendValue(value, out);
  out->push_back('\n');
}

void RenderCell(const FamilyBase& family, const std::vector<std::string>& values,
                const Counter& counter, std::string* out) {
  AppendSample(family.name(), family.label_names(), values, counter.value(), out);
}

void RenderCell(const FamilyBase& family, const std::vector<std::string>& values,
                const Gauge& gauge, std::string* out) {
  AppendSample(family.name(), family.label_names(), values, gauge.value(), out);
}

void RenderCell(const FamilyBase& family, const std::vector<std::string>& values,
                const Histogram& histogram, std::string* out) {
  Histogram::Snapshot snapshot = histogram.TakeSnapshot();
  std::string bucket_name = absl::StrCat(family.name(), "_bucket");
  for (size_t i = 0; i <= snapshot.bounds.size(); ++i) {
    std::string le = "le=\"";
    if (i < snapshot.bounds.size()) {
      AppendValue(snapshot.bounds[i], &le);
    } else {
      le += "+Inf";
    }
    le += '"';
    AppendSeries(bucket_name, family.label_names(), values, le, out);
    absl::StrAppend(out, snapshot.cumulative[i], "\n");
  }
  AppendSample(absl::StrCat(family.name(), "_sum"), family.label_names(), values, snapshot.sum,
               out);
  AppendSample(absl::StrCat(family.name(), "_count"), family.label_names(), values,
               static_cast<double>(snapshot.count), out);
}

std::unique_ptr<Counter> NewCell(const std::vector<double>&, Counter*) {
  return std::make_unique<Counter>();
}
std::unique_ptr<Gauge> NewCell(const std::vector<double>&, Gauge*) {
  return std::make_unique<Gauge>();
}
std::unique_ptr<Histogram> NewCell(const std::vector<double>& bounds, Histogram*) {
  return std::make_unique<Histogram>(bounds);
}

void CheckNames(absl::string_view name, const std::vector<std::string>& label_names,
                MetricType type) {
  if (!IsValidMetricName(name)) Die(absl::StrCat("invalid metric name '", name, "'"));
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsValidLabelName(label)) {
      Die(absl::StrCat("metric ", name, ": invalid label name '", label, "'"));
    }
    if (type == MetricType::kHistogram && label == "le") {
      Die(absl::StrCat("histogram ", name, ": label name 'le' is reserved"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == label) Die(absl::StrCat("metric ", name, ": duplicate label ", label));
    }
  }
}

}  // namespace

// A family whose samples come from a function at scrape time.
class CallbackFamily final : public FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names, CollectFunction collect)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        collect_(std::move(collect)) {}

  void RenderSamples(std::string* out) const override {
    SampleWriter writer(this);
    collect_(writer);
    std::stable_sort(writer.samples_.begin(), writer.samples_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [values, value] : writer.samples_) {
      AppendSample(name(), label_names(), values, value, out);
    }
  }

 private:
  const CollectFunction collect_;
};

void SampleWriter::Add(absl::Span<const std::string> label_values, double value) {
  if (label_values.size() != family_->label_names().size()) {
    std::string line = absl::StrCat("varve metrics: callback for ", family_->name(), " gave ",
                                    label_values.size(), " label values for ",
                                    family_->label_names().size(), " labels; sample dropped\n");
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    return;
  }
  samples_.emplace_back(std::vector<std::string>(label_values.begin(), label_values.end()), value);
}

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {}

void FamilyBase::CheckLabelCount(size_t count) const {
  if (count != label_names_.size()) {
    Die(absl::StrCat("metric ", name_, " has ", label_names_.size(), " labels (",
                     absl::StrJoin(label_names_, ","), "), got ", count, " values"));
  }
}

template <typename T>
Family<T>::Family(std::string name, std::string help, MetricType type,
                  std::vector<std::string> label_names, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <typename T>
T* Family<T>::WithLabels(absl::Span<const std::string> label_values) {
  CheckLabelCount(label_values.size());
  std::vector<std::string> key(label_values.begin(), label_values.end());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(key);
  if (it == children_.end()) {
    it = children_.emplace(std::move(key), NewCell(bounds_, static_cast<T*>(nullptr))).first;
  }
  return it->second.get();
}

template <typename T>
bool Family<T>::Remove(absl::Span<const std::string> label_values) {
  std::vector<std::string> key(label_values.begin(), label_values.end());
  std::lock_guard<std::mutex> lock(mu_);
  return children_.erase(key) > 0;
}

template <typename T>
void Family<T>::RenderSamples(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, cell] : children_) RenderCell(*this, values, *cell, out);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename T>
Family<T>* Registry::AddCellFamily(MetricType type, absl::string_view name, absl::string_view help,
                                   std::vector<std::string> label_names,
                                   std::vector<double> bounds) {
  CheckNames(name, label_names, type);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    auto* existing = dynamic_cast<Family<T>*>(it->second.get());
    if (existing == nullptr || existing->type() != type || existing->label_names() != label_names ||
        existing->bounds() != bounds) {
      Die(absl::StrCat("metric ", name, " registered twice with different definitions"));
    }
    return existing;
  }
  auto family = std::make_unique<Family<T>>(std::string(name), std::string(help), type,
                                            std::move(label_names), std::move(bounds));
  Family<T>* raw = family.get();
  families_.emplace(std::string(name), std::move(family));
  return raw;
}

Family<Counter>* Registry::AddCounterFamily(absl::string_view name, absl::string_view help,
                                            std::vector<std::string> label_names) {
  return AddCellFamily<Counter>(MetricType::kCounter, name, help, std::move(label_names), {});
}

Family<Gauge>* Registry::AddGaugeFamily(absl::string_view name, absl::string_view help,
                                        std::vector<std::string> label_names) {
  return AddCellFamily<Gauge>(MetricType::kGauge, name, help, std::move(label_names), {});
}

Family<Histogram>* Registry::AddHistogramFamily(absl::string_view name, absl::string_view help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> bounds) {
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      Die(absl::StrCat("histogram ", name, ": bucket bounds must be finite and increasing"));
    }
  }
  return AddCellFamily<Histogram>(MetricType::kHistogram, name, help, std::move(label_names),
                                  std::move(bounds));
}

Counter* Registry::AddCounter(absl::string_view name, absl::string_view help) {
  return AddCounterFamily(name, help, {})->WithLabels({});
}

Gauge* Registry::AddGauge(absl::string_view name, absl::string_view help) {
  return AddGaugeFamily(name, help, {})->WithLabels({});
}

Histogram* Registry::AddHistogram(absl::string_view name, absl::string_view help,
                                  std::vector<double> bounds) {
  return AddHistogramFamily(name, help, {}, std::move(bounds))->WithLabels({});
}

void Registry::AddCallbackFamily(MetricType type, absl::string_view name, absl::string_view help,
                                 std::vector<std::string> label_names, CollectFunction collect) {
  if (type == MetricType::kHistogram) {
    Die(absl::StrCat("metric ", name, ": callback families are counters or gauges"));
  }
  CheckNames(name, label_names, type);
  auto family = std::make_unique<CallbackFamily>(std::string(name), std::string(help), type,
                                                 label_names, std::move(collect));
  std::unique_ptr<FamilyBase> replaced;  // destroyed after the lock is released
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    auto* existing = dynamic_cast<CallbackFamily*>(it->second.get());
    if (existing == nullptr || existing->type() != type || existing->label_names() != label_names) {
      Die(absl::StrCat("metric ", name, " registered twice with different definitions"));
    }
    replaced = std::exchange(it->second, std::move(family));
    return;
  }
  families_.emplace(std::string(name), std::move(family));
}

void Registry::AddCallbackGauge(absl::string_view name, absl::string_view help,
                                std::function<double()> value) {
  AddCallbackFamily(MetricType::kGauge, name, help, {},
                    [value = std::move(value)](SampleWriter& out) { out.Add(value()); });
}

void Registry::AddCallbackCounter(absl::string_view name, absl::string_view help,
                                  std::function<double()> value) {
  AddCallbackFamily(MetricType::kCounter, name, help, {},
                    [value = std::move(value)](SampleWriter& out) { out.Add(value()); });
}

bool Registry::Remove(absl::string_view name) {
  std::unique_ptr<FamilyBase> removed;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return false;
  removed = std::move(it->second);
  families_.erase(it);
  return true;
}

std::string Registry::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) {
    std::string samples;
    family->RenderSamples(&samples);
    if (samples.empty()) continue;
    absl::StrAppend(&out, "# HELP ", name, " ");
    AppendEscapedHelp(family->help(), &out);
    absl::StrAppend(&out, "\n# TYPE ", name, " ", TypeName(family->type()), "\n", samples);
  }
  return out;
}

}  // namespace varve::metrics
