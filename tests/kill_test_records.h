#pragma once

// The records of the SIGKILL test (kill_test.cc, kill_test_child.cc). Every record's contents
// are a pure function of the run's seed and the record's identity, which the record carries in
// its first header, so the parent can recompute every byte a child appended from the record
// alone, whatever offset the log gave it:
//
//   identity  child (one number per child process of a run), thread, seq (the thread's n-th
//             append, from 0), index (in the batch, from 0)
//   batch     BatchSize(seed, child, thread, seq) records, 1 to 20, indexes 0, 1, ...
//   record    header 0: key "id", value IdString(identity); key: null or 0-31 bytes; value:
//             0-2000 bytes; timestamp; sometimes header 1 with a null or short value
//
// Child and parent include this file, so they agree by construction. Header-only and stateless.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace varve::kill_test {

inline constexpr char kIdHeaderKey[] = "id";
inline constexpr int kMaxBatchRecords = 20;
inline constexpr int kMaxValueBytes = 2000;

struct RecordId {
  int64_t child = 0;
  int64_t thread = 0;
  int64_t seq = 0;
  int64_t index = 0;
};

struct ExpectedHeader {
  std::string key;
  std::optional<std::string> value;
};

struct ExpectedRecord {
  std::optional<std::string> key;
  std::string value;
  int64_t timestamp = 0;
  std::vector<ExpectedHeader> headers;
};

// SplitMix64: a counter-based generator, so any record can be regenerated on its own.
inline uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline uint64_t Hash(uint64_t seed, int64_t child, int64_t thread, int64_t seq, int64_t index) {
  uint64_t h = Mix(seed);
  for (int64_t v : {child, thread, seq, index}) h = Mix(h ^ static_cast<uint64_t>(v));
  return h;
}

inline int BatchSize(uint64_t seed, int64_t child, int64_t thread, int64_t seq) {
  return 1 + static_cast<int>(Hash(seed, child, thread, seq, -1) % kMaxBatchRecords);
}

inline std::string IdString(const RecordId& id) {
  return absl::StrCat(id.child, ".", id.thread, ".", id.seq, ".", id.index);
}

inline std::optional<RecordId> ParseId(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  RecordId id;
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[0], &id.child) ||
      !absl::SimpleAtoi(parts[1], &id.thread) || !absl::SimpleAtoi(parts[2], &id.seq) ||
      !absl::SimpleAtoi(parts[3], &id.index)) {
    return std::nullopt;
  }
  return id;
}

inline ExpectedRecord MakeRecord(uint64_t seed, const RecordId& id) {
  uint64_t state = Hash(seed, id.child, id.thread, id.seq, id.index);
  auto next = [&state] { return state = Mix(state); };
  auto bytes = [&next](size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; i += 8) {
      const uint64_t r = next();
      for (size_t j = i; j < n && j < i + 8; ++j) s[j] = static_cast<char>(r >> (8 * (j - i)));
    }
    return s;
  };
  ExpectedRecord r;
  if (next() % 8 != 0) r.key = bytes(next() % 32);
  r.value = bytes(next() % (kMaxValueBytes + 1));
  // Within a day of a fixed instant: no time-based rolls (segment.ms is 7 days).
  r.timestamp = 1'700'000'000'000 + static_cast<int64_t>(next() % 86'400'000);
  r.headers.push_back({kIdHeaderKey, IdString(id)});
  if (next() % 4 == 0) {
    ExpectedHeader extra{"h", std::nullopt};
    if (next() % 2 == 0) extra.value = bytes(next() % 16);
    r.headers.push_back(std::move(extra));
  }
  return r;
}

}  // namespace varve::kill_test
