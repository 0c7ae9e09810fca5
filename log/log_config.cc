#include "log/log_config.h"

#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace varve {
namespace {

absl::Status CheckAtLeast(absl::string_view key, int64_t value, int64_t minimum) {
  if (value < minimum) {
    return absl::InvalidArgumentError(
        absl::StrCat("config ", key, "=", value, " is below its minimum ", minimum));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status ParseInto(const std::string& key, const std::string& text, T* out) {
  int64_t v;
  if (!absl::SimpleAtoi(text, &v) || v < std::numeric_limits<T>::min() ||
      v > std::numeric_limits<T>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config ", key, "=\"", text, "\" is not an integer in [",
                     std::numeric_limits<T>::min(), ", ", std::numeric_limits<T>::max(), "]"));
  }
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

}  // namespace

absl::Status LogConfig::Validate() const {
  if (auto s = CheckAtLeast("segment.bytes", segment_bytes, 14); !s.ok()) return s;
  if (segment_bytes > std::numeric_limits<int32_t>::max()) {
    // Positions in the offset index are 32-bit.
    return absl::InvalidArgumentError(
        absl::StrCat("config segment.bytes=", segment_bytes, " is above its maximum 2147483647"));
  }
  if (auto s = CheckAtLeast("segment.ms", segment_ms, 1); !s.ok()) return s;
  if (auto s = CheckAtLeast("segment.jitter.ms", segment_jitter_ms, 0); !s.ok()) return s;
  if (auto s = CheckAtLeast("index.interval.bytes", index_interval_bytes, 0); !s.ok()) return s;
  if (auto s = CheckAtLeast("segment.index.bytes", segment_index_bytes, 24); !s.ok()) return s;
  if (auto s = CheckAtLeast("max.message.bytes", max_message_bytes, 0); !s.ok()) return s;
  if (auto s = CheckAtLeast("retention.ms", retention_ms, -1); !s.ok()) return s;
  if (auto s = CheckAtLeast("retention.bytes", retention_bytes, -1); !s.ok()) return s;
  if (auto s = CheckAtLeast("flush.ms", flush_interval_ms, 1); !s.ok()) return s;
  if (auto s = CheckAtLeast("varve.flush.bytes", flush_interval_bytes, 1); !s.ok()) return s;
  return absl::OkStatus();
}

absl::StatusOr<LogConfig> LogConfig::FromProperties(const std::map<std::string, std::string>& props,
                                                    const LogConfig& base) {
  LogConfig c = base;
  for (const auto& [key, value] : props) {
    absl::Status s;
    if (key == "segment.bytes") {
      s = ParseInto(key, value, &c.segment_bytes);
    } else if (key == "segment.ms") {
      s = ParseInto(key, value, &c.segment_ms);
    } else if (key == "segment.jitter.ms") {
      s = ParseInto(key, value, &c.segment_jitter_ms);
    } else if (key == "index.interval.bytes") {
      s = ParseInto(key, value, &c.index_interval_bytes);
    } else if (key == "segment.index.bytes") {
      s = ParseInto(key, value, &c.segment_index_bytes);
    } else if (key == "max.message.bytes") {
      s = ParseInto(key, value, &c.max_message_bytes);
    } else if (key == "retention.ms") {
      s = ParseInto(key, value, &c.retention_ms);
    } else if (key == "retention.bytes") {
      s = ParseInto(key, value, &c.retention_bytes);
    } else if (key == "flush.ms") {
      s = ParseInto(key, value, &c.flush_interval_ms);
    } else if (key == "varve.flush.bytes") {
      s = ParseInto(key, value, &c.flush_interval_bytes);
    } else if (key == "varve.durability") {
      absl::StatusOr<DurabilityMode> mode = ParseDurabilityMode(value);
      if (mode.ok()) {
        c.durability = *mode;
      } else {
        s = absl::InvalidArgumentError(
            absl::StrCat("config varve.durability: ", mode.status().message()));
      }
    } else {
      s = absl::InvalidArgumentError(absl::StrCat("unknown log config key \"", key, "\""));
    }
    if (!s.ok()) return s;
  }
  if (absl::Status s = c.Validate(); !s.ok()) return s;
  return c;
}

}  // namespace varve
