#pragma once

// Early-return helpers for absl::Status / absl::StatusOr (this Abseil version has none).
//
// Example:
//   absl::StatusOr<int> ParsePort(std::string_view s);
//   absl::Status Listen(std::string_view s) {
//     ASSIGN_OR_RETURN(int port, ParsePort(s));
//     RETURN_IF_ERROR(Bind(port));
//     return absl::OkStatus();
//   }

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define VARVE_STATUS_CONCAT_INNER(a, b) a##b
#define VARVE_STATUS_CONCAT(a, b) VARVE_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status varve_status_ = (expr);         \
    if (!varve_status_.ok()) return varve_status_; \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, rexpr) \
  VARVE_ASSIGN_OR_RETURN_IMPL(VARVE_STATUS_CONCAT(varve_statusor_, __LINE__), lhs, rexpr)

#define VARVE_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr)  \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
