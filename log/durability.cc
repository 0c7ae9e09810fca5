#include "log/durability.h"

#include "absl/strings/str_cat.h"

namespace varve {

const char* DurabilityModeName(DurabilityMode mode) {
  switch (mode) {
    case DurabilityMode::kPageCache:
      return "page_cache";
    case DurabilityMode::kGroupCommit:
      return "group_commit";
    case DurabilityMode::kInterval:
      return "interval";
  }
  return "unknown";
}

const char* IoBackendKindName(IoBackendKind kind) {
  switch (kind) {
    case IoBackendKind::kAuto:
      return "auto";
    case IoBackendKind::kIoUring:
      return "io_uring";
    case IoBackendKind::kPwritev:
      return "pwritev";
  }
  return "unknown";
}

const char* RecoveryModeName(RecoveryMode mode) {
  switch (mode) {
    case RecoveryMode::kTruncateTornTail:
      return "truncate_torn_tail";
    case RecoveryMode::kTruncateAtFirstCorruption:
      return "truncate_at_first_corruption";
  }
  return "unknown";
}

namespace {

template <typename Enum, size_t N>
absl::StatusOr<Enum> ParseName(absl::string_view what, absl::string_view name,
                               const Enum (&values)[N], const char* (*namer)(Enum)) {
  std::string accepted;
  for (Enum v : values) {
    if (name == namer(v)) return v;
    absl::StrAppend(&accepted, accepted.empty() ? "" : ", ", namer(v));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ", what, " \"", name, "\"; expected one of: ", accepted));
}

}  // namespace

absl::StatusOr<DurabilityMode> ParseDurabilityMode(absl::string_view name) {
  static constexpr DurabilityMode kAll[] = {
      DurabilityMode::kPageCache, DurabilityMode::kGroupCommit, DurabilityMode::kInterval};
  return ParseName("durability mode", name, kAll, DurabilityModeName);
}

absl::StatusOr<IoBackendKind> ParseIoBackendKind(absl::string_view name) {
  static constexpr IoBackendKind kAll[] = {IoBackendKind::kAuto, IoBackendKind::kIoUring,
                                           IoBackendKind::kPwritev};
  return ParseName("I/O backend", name, kAll, IoBackendKindName);
}

absl::StatusOr<RecoveryMode> ParseRecoveryMode(absl::string_view name) {
  static constexpr RecoveryMode kAll[] = {RecoveryMode::kTruncateTornTail,
                                          RecoveryMode::kTruncateAtFirstCorruption};
  return ParseName("recovery mode", name, kAll, RecoveryModeName);
}

}  // namespace varve
