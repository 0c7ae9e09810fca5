#pragma once

// FUZZ_CHECK: the invariant check of the libFuzzer targets (log/*_fuzzer.cc). Unlike assert it
// is never compiled out, and it aborts, which libFuzzer reports as a crash and saves the input.
//
// Example:
//   FUZZ_CHECK(batches.position() <= end);
//   FUZZ_CHECK_OK(segment->Close());

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"

namespace varve::fuzz_internal {

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* what,
                                     const absl::Status& status = absl::OkStatus()) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s%s%s\n", file, line, what,
               status.ok() ? "" : ": ", status.ok() ? "" : status.ToString().c_str());
  std::abort();
}

}  // namespace varve::fuzz_internal

#define FUZZ_CHECK(cond) \
  ((cond) ? (void)0 : ::varve::fuzz_internal::CheckFailed(__FILE__, __LINE__, #cond))

// Checks that an absl::Status is ok; prints it otherwise (for a StatusOr, pass .status()).
#define FUZZ_CHECK_OK(expr)                                                         \
  do {                                                                              \
    const ::absl::Status fuzz_status_ = (expr);                                     \
    if (!fuzz_status_.ok()) {                                                       \
      ::varve::fuzz_internal::CheckFailed(__FILE__, __LINE__, #expr, fuzz_status_); \
    }                                                                               \
  } while (false)
