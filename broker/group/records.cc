#include "broker/group/records.h"

#include "absl/strings/str_cat.h"
#include "base/endian.h"

namespace varve::broker::group {
namespace {

constexpr int16_t kOffsetKeyVersion = 1;
constexpr int16_t kGroupKeyVersion = 2;
constexpr int16_t kOffsetValueVersion = 3;
constexpr int16_t kGroupValueVersion = 3;

class Out {
 public:
  void I16(int16_t v) {
    char b[2];
    StoreBE16(b, static_cast<uint16_t>(v));
    s_.append(b, 2);
  }
  void I32(int32_t v) {
    char b[4];
    StoreBE32(b, static_cast<uint32_t>(v));
    s_.append(b, 4);
  }
  void I64(int64_t v) {
    char b[8];
    StoreBE64(b, static_cast<uint64_t>(v));
    s_.append(b, 8);
  }
  // Strings longer than 32767 bytes cannot be encoded; callers bound them (group ids and topic
  // names come from requests whose strings are i16-length-prefixed too).
  void Str(absl::string_view v) {
    I16(static_cast<int16_t>(v.size()));
    s_.append(v.data(), v.size());
  }
  void NullableStr(const std::optional<std::string>& v) {
    if (!v) return I16(-1);
    Str(*v);
  }
  void Bytes(absl::string_view v) {
    I32(static_cast<int32_t>(v.size()));
    s_.append(v.data(), v.size());
  }
  std::string Take() { return std::move(s_); }

 private:
  std::string s_;
};

class In {
 public:
  explicit In(absl::string_view b) : b_(b) {}
  bool I16(int16_t* v) {
    if (b_.size() < 2) return false;
    *v = static_cast<int16_t>(LoadBE16(b_.data()));
    b_.remove_prefix(2);
    return true;
  }
  bool I32(int32_t* v) {
    if (b_.size() < 4) return false;
    *v = static_cast<int32_t>(LoadBE32(b_.data()));
    b_.remove_prefix(4);
    return true;
  }
  bool I64(int64_t* v) {
    if (b_.size() < 8) return false;
    *v = static_cast<int64_t>(LoadBE64(b_.data()));
    b_.remove_prefix(8);
    return true;
  }
  bool Raw(int64_t n, std::string* out) {
    if (n < 0 || b_.size() < static_cast<size_t>(n)) return false;
    out->assign(b_.data(), n);
    b_.remove_prefix(n);
    return true;
  }
  bool Str(std::string* out) {
    int16_t n;
    return I16(&n) && Raw(n, out);
  }
  bool NullableStr(std::optional<std::string>* out) {
    int16_t n;
    if (!I16(&n)) return false;
    if (n == -1) {
      out->reset();
      return true;
    }
    out->emplace();
    return Raw(n, &**out);
  }
  bool Bytes(std::string* out) {
    int32_t n;
    return I32(&n) && Raw(n, out);
  }

 private:
  absl::string_view b_;
};

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat(kOffsetsTopic, " record: ", what));
}

}  // namespace

std::string EncodeOffsetKey(const OffsetKey& key) {
  Out o;
  o.I16(kOffsetKeyVersion);
  o.Str(key.group);
  o.Str(key.topic);
  o.I32(key.partition);
  return o.Take();
}

std::string EncodeOffsetValue(const CommittedOffset& v) {
  Out o;
  o.I16(kOffsetValueVersion);
  o.I64(v.offset);
  o.I32(v.leader_epoch);
  o.Str(v.metadata);
  o.I64(v.commit_timestamp_ms);
  return o.Take();
}

std::string EncodeGroupKey(absl::string_view group) {
  Out o;
  o.I16(kGroupKeyVersion);
  o.Str(group);
  return o.Take();
}

std::string EncodeGroupValue(const GroupMetadataRecord& v) {
  Out o;
  o.I16(kGroupValueVersion);
  o.Str(v.protocol_type);
  o.I32(v.generation);
  o.NullableStr(v.protocol);
  o.NullableStr(v.leader);
  o.I64(v.state_timestamp_ms);
  o.I32(static_cast<int32_t>(v.members.size()));
  for (const MemberRecord& m : v.members) {
    o.Str(m.member_id);
    o.NullableStr(std::nullopt);  // group.instance.id: static membership is not supported
    o.Str(m.client_id);
    o.Str(m.client_host);
    o.I32(m.rebalance_timeout_ms);
    o.I32(m.session_timeout_ms);
    o.Bytes(m.subscription);
    o.Bytes(m.assignment);
  }
  return o.Take();
}

absl::StatusOr<CommittedOffset> DecodeOffsetValue(absl::string_view bytes) {
  In in(bytes);
  int16_t version;
  CommittedOffset v;
  if (!in.I16(&version)) return Corrupt("empty offset value");
  if (version == 1) {
    int64_t expire;
    if (!in.I64(&v.offset) || !in.Str(&v.metadata) || !in.I64(&v.commit_timestamp_ms) ||
        !in.I64(&expire)) {
      return Corrupt("truncated offset value v1");
    }
    return v;
  }
  if (version != 3) return Corrupt(absl::StrCat("unknown offset value version ", version));
  if (!in.I64(&v.offset) || !in.I32(&v.leader_epoch) || !in.Str(&v.metadata) ||
      !in.I64(&v.commit_timestamp_ms)) {
    return Corrupt("truncated offset value");
  }
  return v;
}

absl::StatusOr<GroupMetadataRecord> DecodeGroupValue(absl::string_view bytes) {
  In in(bytes);
  int16_t version;
  GroupMetadataRecord v;
  int32_t count;
  if (!in.I16(&version)) return Corrupt("empty group value");
  if (version != 3) return Corrupt(absl::StrCat("unknown group value version ", version));
  if (!in.Str(&v.protocol_type) || !in.I32(&v.generation) || !in.NullableStr(&v.protocol) ||
      !in.NullableStr(&v.leader) || !in.I64(&v.state_timestamp_ms) || !in.I32(&count) ||
      count < 0) {
    return Corrupt("truncated group value");
  }
  for (int32_t i = 0; i < count; ++i) {
    MemberRecord& m = v.members.emplace_back();
    std::optional<std::string> instance;
    if (!in.Str(&m.member_id) || !in.NullableStr(&instance) || !in.Str(&m.client_id) ||
        !in.Str(&m.client_host) || !in.I32(&m.rebalance_timeout_ms) ||
        !in.I32(&m.session_timeout_ms) || !in.Bytes(&m.subscription) || !in.Bytes(&m.assignment)) {
      return Corrupt(absl::StrCat("truncated member ", i, " of group value"));
    }
  }
  return v;
}

absl::StatusOr<CoordinatorRecord> DecodeRecord(absl::string_view key,
                                               std::optional<absl::string_view> value) {
  In in(key);
  int16_t version;
  if (!in.I16(&version)) return Corrupt("empty key");
  if (version == 0 || version == 1) {
    OffsetRecord r;
    if (!in.Str(&r.key.group) || !in.Str(&r.key.topic) || !in.I32(&r.key.partition)) {
      return Corrupt("truncated offset key");
    }
    if (value) {
      absl::StatusOr<CommittedOffset> v = DecodeOffsetValue(*value);
      if (!v.ok()) return v.status();
      r.value = std::move(*v);
    }
    return r;
  }
  if (version == 2) {
    GroupRecord r;
    if (!in.Str(&r.group)) return Corrupt("truncated group key");
    if (value) {
      absl::StatusOr<GroupMetadataRecord> v = DecodeGroupValue(*value);
      if (!v.ok()) return v.status();
      r.value = std::move(*v);
    }
    return r;
  }
  return Corrupt(absl::StrCat("unknown key version ", version));
}

std::string EncodeKey(const CoordinatorRecord& record) {
  if (const auto* o = std::get_if<OffsetRecord>(&record)) return EncodeOffsetKey(o->key);
  return EncodeGroupKey(std::get<GroupRecord>(record).group);
}

std::optional<std::string> EncodeValue(const CoordinatorRecord& record) {
  if (const auto* o = std::get_if<OffsetRecord>(&record)) {
    if (!o->value) return std::nullopt;
    return EncodeOffsetValue(*o->value);
  }
  const auto& g = std::get<GroupRecord>(record);
  if (!g.value) return std::nullopt;
  return EncodeGroupValue(*g.value);
}

const std::string& RecordGroup(const CoordinatorRecord& record) {
  if (const auto* o = std::get_if<OffsetRecord>(&record)) return o->key.group;
  return std::get<GroupRecord>(record).group;
}

int32_t PartitionForGroup(absl::string_view group, int32_t partitions) {
  int32_t h = 0;
  for (char c : group) {
    h = static_cast<int32_t>(31u * static_cast<uint32_t>(h) + static_cast<uint8_t>(c));
  }
  return (h & 0x7fffffff) % partitions;
}

}  // namespace varve::broker::group
