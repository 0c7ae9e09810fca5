#pragma once

// The model of tests/log_model_test.cc: what a Log must hold, as plain values, and the encoding
// a producer would use for it. Test-only, header-only.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "log/batch_builder.h"
#include "log/record_batch.h"

namespace varve::model {

struct Header {
  std::string key;
  std::optional<std::string> value;
};

struct Record {
  std::optional<std::string> key, value;
  int64_t timestamp;  // as a reader sees it
  std::vector<Header> headers;
};

struct Batch {
  int64_t base_offset;
  std::vector<Record> records;
  std::string bytes;  // as stored: BaseOffset and PartitionLeaderEpoch stamped
  int64_t last_offset() const { return base_offset + static_cast<int64_t>(records.size()) - 1; }
};

// What the log must hold: the batches with offsets in [start, end), oldest first. The first one
// may begin below `start` (DeleteRecords inside a batch); batches wholly below it are dropped,
// whether or not their segment still exists.
struct Model {
  int64_t start = 0;
  int64_t end = 0;
  std::deque<Batch> batches;

  void Append(Batch batch) {
    end = batch.last_offset() + 1;
    batches.push_back(std::move(batch));
  }
  void RaiseStart(int64_t offset) {
    start = std::max(start, offset);
    while (!batches.empty() && batches.front().last_offset() < start) batches.pop_front();
  }
  // Log::Truncate: every batch whose last offset is >= `offset` goes. If nothing at or above the
  // start would be left (`offset` below it, or inside the batch holding it), the log restarts
  // empty at `offset` instead: the start never passes the end.
  void Truncate(int64_t offset) {
    if (offset >= end) return;
    while (!batches.empty() && batches.back().last_offset() >= offset) {
      end = batches.back().base_offset;
      batches.pop_back();
    }
    if (offset < start || end < start) {
      batches.clear();
      start = end = offset;
    }
  }
  // The index in `batches` of the batch holding `offset`, which must be in [start, end).
  size_t BatchIndex(int64_t offset) const {
    size_t lo = 0, hi = batches.size();
    while (hi - lo > 1) {
      const size_t mid = (lo + hi) / 2;
      (batches[mid].base_offset <= offset ? lo : hi) = mid;
    }
    return lo;
  }
};

inline std::optional<absl::string_view> View(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return absl::string_view(*s);
}

inline std::vector<HeaderRef> HeaderRefs(const std::vector<Header>& headers) {
  std::vector<HeaderRef> refs;
  for (const Header& h : headers) refs.push_back(HeaderRef{h.key, View(h.value)});
  return refs;
}

// The bytes a producer would send for `records`.
inline std::string Encode(const std::vector<Record>& records,
                          const BatchBuilder::Options& options) {
  BatchBuilder builder(options);
  for (const Record& r : records) {
    std::vector<HeaderRef> headers = HeaderRefs(r.headers);
    builder.Add(r.timestamp, View(r.key), View(r.value), headers);
  }
  return builder.Build();
}

inline std::optional<std::string> Owned(std::optional<absl::string_view> s) {
  if (!s) return std::nullopt;
  return std::string(*s);
}

}  // namespace varve::model
