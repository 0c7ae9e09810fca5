// GroupCoordinator: offset commits and fetches, listing and describing groups, and removing
// state (deleted topics, expired groups). Membership is in coordinator.cc.

#include <cstdio>

#include "broker/errors.h"
#include "broker/group/coordinator.h"
#include "broker/group/coordinator_state.h"

namespace varve::broker::group {

void GroupCoordinator::Commit(const std::string& group_id, int32_t generation,
                              const std::string& member_id, std::vector<CommitPartition> partitions,
                              std::function<void(std::vector<int16_t>)> done) {
  std::vector<int16_t> errors(partitions.size(), kNone);
  int16_t group_error = kNone;
  std::vector<CoordinatorRecord> records;
  std::vector<size_t> indexes;  // of `partitions`, for each record
  {
    std::lock_guard lock(mu_);
    Group* g = FindGroup(group_id);
    Member* m = nullptr;
    if (g) {
      auto it = g->members.find(member_id);
      if (it != g->members.end()) m = &it->second;
    }
    const bool standalone = generation < 0 && member_id.empty();
    if (stopped_ || !started_) {
      group_error = stopped_ ? kCoordinatorNotAvailable : kCoordinatorLoadInProgress;
    } else if (group_id.empty()) {
      group_error = kInvalidGroupId;
    } else if (g && g->state == GroupState::kDead) {
      group_error = kCoordinatorNotAvailable;
    } else if (standalone) {
      // assign()-style consumers: fine while nobody uses the group for membership.
      if (g && g->state != GroupState::kEmpty) group_error = kUnknownMemberId;
    } else if (!g) {
      group_error = generation < 0 ? kUnknownMemberId : kIllegalGeneration;
    } else if (!m) {
      group_error = kUnknownMemberId;
    } else if (generation != g->generation) {
      group_error = kIllegalGeneration;
    } else if (g->state == GroupState::kCompletingRebalance) {
      group_error = kRebalanceInProgress;
    } else {
      m->last_seen_ms = Now();
    }
    if (group_error == kNone) {
      const int64_t now = Now();
      for (size_t i = 0; i < partitions.size(); ++i) {
        CommitPartition& p = partitions[i];
        if (p.metadata &&
            static_cast<int64_t>(p.metadata->size()) > options_.offset_metadata_max_bytes) {
          errors[i] = kOffsetMetadataTooLarge;
        } else if (!options_.partition_exists || !options_.partition_exists(p.topic, p.partition)) {
          errors[i] = kUnknownTopicOrPartition;
        } else {
          records.push_back(
              OffsetRecord{.key = {group_id, p.topic, p.partition},
                           .value = CommittedOffset{.offset = p.offset,
                                                    .leader_epoch = p.leader_epoch,
                                                    .metadata = p.metadata.value_or(""),
                                                    .commit_timestamp_ms = now}});
          indexes.push_back(i);
        }
      }
    }
  }
  if (group_error != kNone) {
    std::fill(errors.begin(), errors.end(), group_error);
    done(std::move(errors));
    return;
  }
  if (records.empty()) {
    done(std::move(errors));
    return;
  }
  auto applied = [this, group_id, records, indexes, errors, done](absl::Status s) mutable {
    if (s.ok()) {
      std::lock_guard lock(mu_);
      Group& g = GetOrCreateGroup(group_id);
      for (const CoordinatorRecord& r : records) {
        const auto& o = std::get<OffsetRecord>(r);
        g.offsets[{o.key.topic, o.key.partition}] = *o.value;
      }
    } else {
      std::fprintf(stderr, "varve-broker: offset commit of group %s failed: %s\n", group_id.c_str(),
                   std::string(s.message()).c_str());
      for (size_t i : indexes) errors[i] = kUnknownServerError;
    }
    done(std::move(errors));
  };
  store_->Append(std::move(records), std::move(applied));
}

std::vector<FetchedOffset> GroupCoordinator::FetchOffsets(
    const std::string& group_id,
    const std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>& wanted) {
  std::lock_guard lock(mu_);
  std::vector<FetchedOffset> out;
  Group* g = FindGroup(group_id);
  auto fill = [](FetchedOffset* f, const CommittedOffset& c) {
    f->offset = c.offset;
    f->leader_epoch = c.leader_epoch;
    f->metadata = c.metadata;
  };
  if (!wanted) {
    if (!g) return out;
    for (const auto& [tp, c] : g->offsets) {
      FetchedOffset& f = out.emplace_back();
      f.topic = tp.first;
      f.partition = tp.second;
      fill(&f, c);
    }
    return out;
  }
  for (const auto& [topic, parts] : *wanted) {
    for (int32_t p : parts) {
      FetchedOffset& f = out.emplace_back();
      f.topic = topic;
      f.partition = p;
      if (!g) continue;
      auto it = g->offsets.find({topic, p});
      if (it != g->offsets.end()) fill(&f, it->second);
    }
  }
  return out;
}

std::vector<ListedGroup> GroupCoordinator::ListGroups() {
  std::lock_guard lock(mu_);
  std::vector<ListedGroup> out;
  for (const auto& [id, g] : groups_) {
    out.push_back({id, g->protocol_type, g->state});
  }
  return out;
}

DescribedGroup GroupCoordinator::Describe(const std::string& group_id) {
  std::lock_guard lock(mu_);
  DescribedGroup out;
  Group* g = FindGroup(group_id);
  if (!g) return out;
  out.state = g->state;
  out.protocol_type = g->protocol_type;
  // Kafka reports the protocol and member metadata only once they are settled.
  const bool settled =
      g->state == GroupState::kStable || g->state == GroupState::kCompletingRebalance;
  if (settled) out.protocol = g->protocol.value_or("");
  for (const auto& [id, m] : g->members) {
    DescribedMember& d = out.members.emplace_back();
    d.member_id = id;
    d.client_id = m.client_id;
    d.client_host = m.client_host;
    if (settled && g->protocol) {
      const std::string* metadata = m.MetadataFor(*g->protocol);
      if (metadata) d.metadata = *metadata;
    }
    if (g->state == GroupState::kStable) d.assignment = m.assignment;
  }
  return out;
}

void GroupCoordinator::OnTopicDeleted(const std::string& topic) {
  std::lock_guard lock(mu_);
  for (auto& [id, g] : groups_) {
    std::vector<CoordinatorRecord> tombstones;
    for (auto it = g->offsets.begin(); it != g->offsets.end();) {
      if (it->first.first != topic) {
        ++it;
        continue;
      }
      tombstones.push_back(OffsetRecord{.key = {id, topic, it->first.second}, .value = {}});
      it = g->offsets.erase(it);
    }
    if (!tombstones.empty()) store_->Append(std::move(tombstones), [](absl::Status) {});
  }
}

int GroupCoordinator::ExpireGroups() {
  std::lock_guard lock(mu_);
  if (stopped_) return 0;
  const int64_t now = Now();
  int removed = 0;
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& g = *it->second;
    int64_t last = g.state_timestamp_ms;
    for (const auto& [tp, c] : g.offsets) last = std::max(last, c.commit_timestamp_ms);
    if (g.state != GroupState::kEmpty || g.has_members() || !g.pending_members.empty() ||
        now - last <= options_.offsets_retention_ms) {
      ++it;
      continue;
    }
    g.state = GroupState::kDead;
    std::vector<CoordinatorRecord> tombstones;
    for (const auto& [tp, c] : g.offsets) {
      tombstones.push_back(OffsetRecord{.key = {g.id, tp.first, tp.second}, .value = {}});
    }
    tombstones.push_back(GroupRecord{.group = g.id, .value = {}});
    store_->Append(std::move(tombstones), [](absl::Status) {});
    it = groups_.erase(it);
    ++removed;
  }
  return removed;
}

}  // namespace varve::broker::group
