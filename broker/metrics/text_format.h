#pragma once

// Pieces of the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/):
//
//   # HELP <name> <help, with \ and newline escaped>
//   # TYPE <name> counter|gauge|histogram|untyped
//   <name>{<label>="<value, with \ " and newline escaped>",...} <value>
//
// Values: integers print without a fraction ("42"), others in the shortest form that reads
// back exactly ("0.25", "1e+20"); non-finite values as "+Inf", "-Inf", "NaN".

#include <string>

#include "absl/strings/string_view.h"

namespace varve::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(absl::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus).
bool IsValidLabelName(absl::string_view name);

void AppendEscapedHelp(absl::string_view help, std::string* out);
void AppendEscapedLabelValue(absl::string_view value, std::string* out);
void AppendValue(double value, std::string* out);

}  // namespace varve::metrics
