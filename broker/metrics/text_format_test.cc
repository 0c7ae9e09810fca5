#include "broker/metrics/text_format.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace varve::metrics {
namespace {

std::string Value(double value) {
  std::string out;
  AppendValue(value, &out);
  return out;
}

TEST(TextFormatTest, IntegralValuesHaveNoFraction) {
  EXPECT_EQ(Value(0), "0");
  EXPECT_EQ(Value(-0.0), "0");
  EXPECT_EQ(Value(42), "42");
  EXPECT_EQ(Value(-3), "-3");
  EXPECT_EQ(Value(123456789012.0), "123456789012");
}

TEST(TextFormatTest, FractionsUseTheShortestExactForm) {
  EXPECT_EQ(Value(0.25), "0.25");
  EXPECT_EQ(Value(0.1), "0.1");
  EXPECT_EQ(Value(1.5e-7), "1.5e-07");
  EXPECT_EQ(Value(1e20), "1e+20");
  EXPECT_EQ(std::stod(Value(1.0 / 3)), 1.0 / 3);
}

TEST(TextFormatTest, NonFiniteValues) {
  EXPECT_EQ(Value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(Value(std::nan("")), "NaN");
}

TEST(TextFormatTest, LabelValueEscapesBackslashQuoteAndNewline) {
  std::string out;
  AppendEscapedLabelValue("a\\b\"c\nd'e", &out);
  EXPECT_EQ(out, "a\\\\b\\\"c\\nd'e");
}

TEST(TextFormatTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  std::string out;
  AppendEscapedHelp("say \"hi\"\\\nbye", &out);
  EXPECT_EQ(out, "say \"hi\"\\\\\\nbye");
}

TEST(TextFormatTest, MetricNames) {
  EXPECT_TRUE(IsValidMetricName("varve_requests_total"));
  EXPECT_TRUE(IsValidMetricName("a:b_c9"));
  EXPECT_TRUE(IsValidMetricName("_x"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("9lives"));
  EXPECT_FALSE(IsValidMetricName("with-dash"));
  EXPECT_FALSE(IsValidMetricName("with space"));
}

TEST(TextFormatTest, LabelNames) {
  EXPECT_TRUE(IsValidLabelName("topic"));
  EXPECT_TRUE(IsValidLabelName("_p1"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("__reserved"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1st"));
}

}  // namespace
}  // namespace varve::metrics
