#pragma once

// The records of the internal __consumer_offsets topic: Kafka's own key/value formats
// (GroupMetadataManager), so the topic's contents mean the same thing as on Kafka and Kafka's
// tools could read them. docs/broker.md ("Consumer groups") has the byte tables.
//
//   key   version 1 (offset commit):  i16 version, str group, str topic, i32 partition
//   value version 3 (offset commit):  i16 version, i64 offset, i32 leader epoch,
//                                     str metadata, i64 commit timestamp
//   key   version 2 (group metadata): i16 version, str group
//   value version 3 (group metadata): i16 version, str protocol type, i32 generation,
//                                     str? protocol, str? leader, i64 state timestamp,
//                                     [member: str id, str? instance id, str client id,
//                                      str client host, i32 rebalance timeout,
//                                      i32 session timeout, bytes subscription,
//                                      bytes assignment]
// (str: i16 length + bytes, -1 for null; bytes: i32 length + bytes.) A null value is a
// tombstone: the offset, or the whole group, is gone. Keys alone identify what a record
// replaces, so the topic can be compacted. Decoding accepts offset values v1 (no epoch) too.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace varve::broker::group {

inline constexpr char kOffsetsTopic[] = "__consumer_offsets";

struct OffsetKey {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const OffsetKey&) const = default;
};

struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp_ms = 0;
  bool operator==(const CommittedOffset&) const = default;
};

struct MemberRecord {
  std::string member_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string subscription;  // the selected protocol's metadata
  std::string assignment;
  bool operator==(const MemberRecord&) const = default;
};

struct GroupMetadataRecord {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t state_timestamp_ms = 0;
  std::vector<MemberRecord> members;
  bool operator==(const GroupMetadataRecord&) const = default;
};

// One record of the topic, decoded. A nullopt value is a tombstone.
struct OffsetRecord {
  OffsetKey key;
  std::optional<CommittedOffset> value;
};
struct GroupRecord {
  std::string group;
  std::optional<GroupMetadataRecord> value;
};
using CoordinatorRecord = std::variant<OffsetRecord, GroupRecord>;

std::string EncodeOffsetKey(const OffsetKey& key);
std::string EncodeOffsetValue(const CommittedOffset& value);
std::string EncodeGroupKey(absl::string_view group);
std::string EncodeGroupValue(const GroupMetadataRecord& value);

// Decodes a record from its key and value (nullopt: tombstone). DataLoss for malformed bytes
// or unknown versions.
absl::StatusOr<CoordinatorRecord> DecodeRecord(absl::string_view key,
                                               std::optional<absl::string_view> value);
absl::StatusOr<CommittedOffset> DecodeOffsetValue(absl::string_view value);
absl::StatusOr<GroupMetadataRecord> DecodeGroupValue(absl::string_view value);

// The record's key and value bytes (value nullopt for a tombstone).
std::string EncodeKey(const CoordinatorRecord& record);
std::optional<std::string> EncodeValue(const CoordinatorRecord& record);
// The group a record belongs to.
const std::string& RecordGroup(const CoordinatorRecord& record);

// The __consumer_offsets partition of a group: Kafka's abs(String.hashCode) % partitions,
// computed over the id's bytes (the same as Kafka's for ASCII ids).
int32_t PartitionForGroup(absl::string_view group, int32_t partitions);

}  // namespace varve::broker::group
