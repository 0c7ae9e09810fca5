#include "broker/metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace varve::metrics {
namespace {

TEST(RegistryTest, EmptyRegistryRendersNothing) {
  Registry registry;
  EXPECT_EQ(registry.Render(), "");
}

TEST(RegistryTest, CounterGolden) {
  Registry registry;
  Counter* counter = registry.AddCounter("varve_requests_total", "Requests handled.");
  counter->Increment();
  counter->Increment(2);
  EXPECT_EQ(registry.Render(),
            "# HELP varve_requests_total Requests handled.\n"
            "# TYPE varve_requests_total counter\n"
            "varve_requests_total 3\n");
}

TEST(RegistryTest, GaugeWithLabelsGoldenSortedByLabelValues) {
  Registry registry;
  Family<Gauge>* family =
      registry.AddGaugeFamily("varve_partition_lag", "Lag.", {"topic", "partition"});
  family->WithLabels({"orders", "1"})->Set(2.5);
  family->WithLabels({"orders", "0"})->Set(-1);
  family->WithLabels({"audit", "0"})->Add(7);
  family->WithLabels({"audit", "0"})->Decrement();
  EXPECT_EQ(registry.Render(),
            "# HELP varve_partition_lag Lag.\n"
            "# TYPE varve_partition_lag gauge\n"
            "varve_partition_lag{topic=\"audit\",partition=\"0\"} 6\n"
            "varve_partition_lag{topic=\"orders\",partition=\"0\"} -1\n"
            "varve_partition_lag{topic=\"orders\",partition=\"1\"} 2.5\n");
}

TEST(RegistryTest, HistogramGoldenWithCumulativeBuckets) {
  Registry registry;
  Histogram* histogram = registry.AddHistogram("varve_latency_seconds", "Latency.", {0.125, 1, 8});
  // Values on a bound count in that bound's bucket (le = "less or equal").
  for (double v : {0.0625, 0.125, 0.5, 1.0, 4.0, 64.0}) histogram->Observe(v);
  EXPECT_EQ(registry.Render(),
            "# HELP varve_latency_seconds Latency.\n"
            "# TYPE varve_latency_seconds histogram\n"
            "varve_latency_seconds_bucket{le=\"0.125\"} 2\n"
            "varve_latency_seconds_bucket{le=\"1\"} 4\n"
            "varve_latency_seconds_bucket{le=\"8\"} 5\n"
            "varve_latency_seconds_bucket{le=\"+Inf\"} 6\n"
            "varve_latency_seconds_sum 69.6875\n"
            "varve_latency_seconds_count 6\n");
}

TEST(RegistryTest, LabelledHistogramGolden) {
  Registry registry;
  Family<Histogram>* family =
      registry.AddHistogramFamily("varve_request_seconds", "By API.", {"api"}, {0.5});
  family->WithLabels({"fetch"})->Observe(0.25);
  family->WithLabels({"produce"})->Observe(1);
  EXPECT_EQ(registry.Render(),
            "# HELP varve_request_seconds By API.\n"
            "# TYPE varve_request_seconds histogram\n"
            "varve_request_seconds_bucket{api=\"fetch\",le=\"0.5\"} 1\n"
            "varve_request_seconds_bucket{api=\"fetch\",le=\"+Inf\"} 1\n"
            "varve_request_seconds_sum{api=\"fetch\"} 0.25\n"
            "varve_request_seconds_count{api=\"fetch\"} 1\n"
            "varve_request_seconds_bucket{api=\"produce\",le=\"0.5\"} 0\n"
            "varve_request_seconds_bucket{api=\"produce\",le=\"+Inf\"} 1\n"
            "varve_request_seconds_sum{api=\"produce\"} 1\n"
            "varve_request_seconds_count{api=\"produce\"} 1\n");
}

TEST(RegistryTest, HistogramNaNGoesToInfBucket) {
  Registry registry;
  Histogram* histogram = registry.AddHistogram("h", "h", {1});
  histogram->Observe(std::nan(""));
  Histogram::Snapshot snapshot = histogram->TakeSnapshot();
  EXPECT_EQ(snapshot.cumulative, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(snapshot.count, 1u);
}

TEST(RegistryTest, ExplicitTrailingInfBoundIsDropped) {
  Registry registry;
  Histogram* histogram =
      registry.AddHistogram("h", "h", {1, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(histogram->bounds(), (std::vector<double>{1}));
}

TEST(RegistryTest, LabelValuesAndHelpAreEscaped) {
  Registry registry;
  registry.AddCounterFamily("c_total", "Line one\nback\\slash \"quoted\"", {"path"})
      ->WithLabels({"C:\\dir\n\"x\""})
      ->Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP c_total Line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE c_total counter\n"
            "c_total{path=\"C:\\\\dir\\n\\\"x\\\"\"} 1\n");
}

TEST(RegistryTest, FamiliesRenderSortedByNameAndEmptyOnesAreOmitted) {
  Registry registry;
  registry.AddGauge("zeta", "z")->Set(1);
  registry.AddCounterFamily("unused_total", "never labelled", {"x"});
  registry.AddGauge("alpha", "a")->Set(2);
  EXPECT_EQ(registry.Render(),
            "# HELP alpha a\n"
            "# TYPE alpha gauge\n"
            "alpha 2\n"
            "# HELP zeta z\n"
            "# TYPE zeta gauge\n"
            "zeta 1\n");
}

TEST(RegistryTest, CallbackGaugeAndCounterAreEvaluatedAtScrape) {
  Registry registry;
  double disk = 10;
  registry.AddCallbackGauge("varve_disk_bytes", "Disk.", [&] { return disk; });
  registry.AddCallbackCounter("varve_bytes_in_total", "In.", [] { return 1234.0; });
  disk = 20;
  EXPECT_EQ(registry.Render(),
            "# HELP varve_bytes_in_total In.\n"
            "# TYPE varve_bytes_in_total counter\n"
            "varve_bytes_in_total 1234\n"
            "# HELP varve_disk_bytes Disk.\n"
            "# TYPE varve_disk_bytes gauge\n"
            "varve_disk_bytes 20\n");
}

TEST(RegistryTest, CallbackFamilySortsSamplesAndDropsBadOnes) {
  Registry registry;
  registry.AddCallbackFamily(MetricType::kGauge, "varve_log_end_offset", "LEO.",
                             {"topic", "partition"}, [](SampleWriter& out) {
                               out.Add({"t", "1"}, 50);
                               out.Add({"t", "0"}, 42);
                               out.Add({"wrong"}, 1);  // dropped
                             });
  EXPECT_EQ(registry.Render(),
            "# HELP varve_log_end_offset LEO.\n"
            "# TYPE varve_log_end_offset gauge\n"
            "varve_log_end_offset{topic=\"t\",partition=\"0\"} 42\n"
            "varve_log_end_offset{topic=\"t\",partition=\"1\"} 50\n");
}

TEST(RegistryTest, CallbackFamilyIsReplacedByTheSameName) {
  Registry registry;
  registry.AddCallbackGauge("g", "g", [] { return 1.0; });
  registry.AddCallbackGauge("g", "g", [] { return 2.0; });
  EXPECT_EQ(registry.Render(), "# HELP g g\n# TYPE g gauge\ng 2\n");
}

TEST(RegistryTest, SameDefinitionReturnsTheSameCells) {
  Registry registry;
  Counter* a = registry.AddCounter("c_total", "c");
  Counter* b = registry.AddCounter("c_total", "c");
  EXPECT_EQ(a, b);
  Family<Gauge>* family = registry.AddGaugeFamily("g", "g", {"l"});
  EXPECT_EQ(family, registry.AddGaugeFamily("g", "g", {"l"}));
  EXPECT_EQ(family->WithLabels({"x"}), family->WithLabels({"x"}));
  EXPECT_NE(family->WithLabels({"x"}), family->WithLabels({"y"}));
}

TEST(RegistryTest, RemoveFamilyAndSeries) {
  Registry registry;
  Family<Gauge>* family = registry.AddGaugeFamily("g", "g", {"l"});
  family->WithLabels({"x"})->Set(1);
  family->WithLabels({"y"})->Set(2);
  EXPECT_TRUE(family->Remove({"x"}));
  EXPECT_FALSE(family->Remove({"x"}));
  EXPECT_EQ(registry.Render(), "# HELP g g\n# TYPE g gauge\ng{l=\"y\"} 2\n");
  EXPECT_TRUE(registry.Remove("g"));
  EXPECT_FALSE(registry.Remove("g"));
  EXPECT_EQ(registry.Render(), "");
}

TEST(RegistryTest, BucketHelpers) {
  EXPECT_EQ(ExponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(LinearBuckets(0, 5, 3), (std::vector<double>{0, 5, 10}));
  std::vector<double> latency = DefaultLatencyBuckets();
  EXPECT_TRUE(std::is_sorted(latency.begin(), latency.end()));
}

using RegistryDeathTest = ::testing::Test;

TEST(RegistryDeathTest, MisuseAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddCounter("bad-name", "x");
      },
      "invalid metric name");
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddCounterFamily("c", "x", {"__x"});
      },
      "invalid label name");
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddCounter("m", "x");
        registry.AddGauge("m", "x");
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddCounterFamily("c", "x", {"a", "b"})->WithLabels({"only one"});
      },
      "got 1 values");
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddHistogram("h", "x", {2, 1});
      },
      "increasing");
  EXPECT_DEATH(
      {
        Registry registry;
        registry.AddHistogramFamily("h", "x", {"le"}, {1});
      },
      "reserved");
}

}  // namespace
}  // namespace varve::metrics
