#pragma once

// GroupStore: where the group coordinator's state goes to become durable. The coordinator
// hands it the records of one group (offset commits, group metadata, tombstones); the store
// appends them to the group's __consumer_offsets partition, makes them durable, applies them
// to the materialized state, and then calls back. GroupLog is the real one; tests use
// MemoryGroupStore.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "broker/group/records.h"

namespace varve::broker::group {

// What the store holds when it opens: the latest value of every key.
struct LoadedGroups {
  std::map<std::string, GroupMetadataRecord> groups;
  std::map<OffsetKey, CommittedOffset> offsets;
};

class GroupStore {
 public:
  virtual ~GroupStore() = default;
  // Appends `records` (all of one group). `done` runs exactly once on another thread, never
  // inside Append, after the records are durable and applied, or with the error that stopped
  // them. Appends of one group complete in the order Append was called. Thread-safe.
  virtual void Append(std::vector<CoordinatorRecord> records,
                      std::function<void(absl::Status)> done) = 0;
};

}  // namespace varve::broker::group
