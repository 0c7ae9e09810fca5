#pragma once

// --plot FILE.png: throughput over time for every system run and, for the write workloads, the
// distribution (CDF) of acknowledgement latencies, drawn by gnuplot (Debian: gnuplot-nox).
//
// Example:
//   RETURN_IF_ERROR(CheckGnuplot());            // before the run, so a missing gnuplot costs
//   ...                                         // nothing
//   RETURN_IF_ERROR(WritePlot(report, "out.png"));
//
// Errors: FailedPrecondition when gnuplot is not on PATH (naming the package to install);
// Internal when gnuplot fails (its own message goes to stderr).

#include <string>

#include "absl/status/status.h"
#include "bench/report.h"

namespace varve::bench {

absl::Status CheckGnuplot();
absl::Status WritePlot(const Report& report, const std::string& png_path);

// A string as a gnuplot single-quoted literal (quotes doubled); exposed for tests.
std::string GnuplotQuote(const std::string& s);

}  // namespace varve::bench
