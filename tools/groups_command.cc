#include "tools/groups_command.h"

#include <map>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "broker/group/records.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "tools/dump_inputs.h"
#include "tools/dump_output.h"
#include "tools/segment_scanner.h"
#include "tools/varve_dump.h"

namespace varve::dump {
namespace {

namespace group = broker::group;

// The broker's RocksDB key prefix for group records (broker/group/group_log.h).
constexpr char kRecordPrefix[] = "group/record/";

// The end offset of the partition log in `dir`: one past the last offset of the last whole
// batch of its last segment (the segment's base offset if it has none).
absl::StatusOr<int64_t> LogEndOffset(FileSystem* fs, const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = fs->ListDir(dir);
  if (!names.ok()) return names.status();
  std::optional<int64_t> last_base;
  for (const std::string& name : *names) {
    if (ClassifyFileName(name) != FileKind::kLog) continue;
    std::optional<int64_t> base = SegmentBaseFromName(name);
    if (base && (!last_base || *base > *last_base)) last_base = base;
  }
  if (!last_base) return absl::NotFoundError(absl::StrCat(dir, ": no segments"));
  const std::string path = absl::StrCat(dir, "/", absl::StrFormat("%020d.log", *last_base));
  absl::StatusOr<std::unique_ptr<ReadOnlyFile>> file = ReadOnlyFile::Open(fs, path, 1 << 20);
  if (!file.ok()) return file.status();
  BatchScanner scanner(file->get(), 0, *last_base);
  ScannedBatch batch;
  std::vector<Problem> problems;
  int64_t end = *last_base;
  while (scanner.Next(&batch, &problems)) {
    if (batch.crc_valid) end = batch.header.base_offset + batch.header.last_offset_delta + 1;
  }
  if (!scanner.status().ok()) return scanner.status();
  return end;
}

}  // namespace

int RunGroups(const DumpOptions& options, std::ostream& out, std::ostream& err, FileSystem* fs) {
  const std::string& data_dir = options.paths.front();
  const std::string db_path = absl::StrCat(data_dir, "/metadata.rocksdb");
  rocksdb::Options db_options;
  db_options.create_if_missing = false;
  db_options.info_log_level = rocksdb::InfoLogLevel::HEADER_LEVEL;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(db_options, db_path, &raw);
  if (!s.ok()) {
    err << "varve-dump: cannot open " << db_path << " read-only: " << s.ToString() << "\n";
    return kExitUsage;
  }
  std::unique_ptr<rocksdb::DB> db(raw);

  std::map<std::string, group::GroupMetadataRecord> groups;
  std::map<group::OffsetKey, group::CommittedOffset> offsets;
  std::vector<std::string> notes;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(kRecordPrefix); it->Valid(); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (!absl::StartsWith(key, kRecordPrefix)) break;
    key.remove_prefix(sizeof(kRecordPrefix) - 1);
    absl::StatusOr<group::CoordinatorRecord> r =
        group::DecodeRecord(key, absl::string_view(it->value().data(), it->value().size()));
    if (!r.ok()) {
      notes.push_back(std::string(r.status().message()));
      continue;
    }
    if (auto* o = std::get_if<group::OffsetRecord>(&*r)) {
      offsets[o->key] = *o->value;
    } else {
      auto& g = std::get<group::GroupRecord>(*r);
      groups[g.group] = *g.value;
    }
  }
  if (!it->status().ok()) {
    err << "varve-dump: reading " << db_path << ": " << it->status().ToString() << "\n";
    return kExitUsage;
  }
  // Groups that only have offsets (assign()-style commits) are listed too.
  for (const auto& [key, value] : offsets) groups.try_emplace(key.group);

  std::map<std::pair<std::string, int32_t>, absl::StatusOr<int64_t>> ends;
  auto end_of = [&](const std::string& topic, int32_t partition) -> absl::StatusOr<int64_t> {
    auto [e, added] = ends.try_emplace({topic, partition}, int64_t{0});
    if (added) e->second = LogEndOffset(fs, absl::StrCat(data_dir, "/", topic, "-", partition));
    return e->second;
  };
  for (const auto& [id, g] : groups) {
    std::vector<std::string> members;
    for (const auto& m : g.members) members.push_back(m.member_id);
    if (options.json) {
      std::vector<std::string> quoted;
      for (const auto& m : members) quoted.push_back(JsonQuote(m));
      out << "{\"type\":\"group\",\"group\":" << JsonQuote(id) << ",\"generation\":" << g.generation
          << ",\"protocol_type\":" << JsonQuote(g.protocol_type)
          << ",\"protocol\":" << (g.protocol ? JsonQuote(*g.protocol) : "null")
          << ",\"leader\":" << (g.leader ? JsonQuote(*g.leader) : "null") << ",\"members\":["
          << absl::StrJoin(quoted, ",") << "]}\n";
    } else {
      out << "group " << QuoteBytes(id) << " generation " << g.generation << " protocol "
          << (g.protocol_type.empty() ? "-" : g.protocol_type) << "/" << g.protocol.value_or("-")
          << " members " << members.size();
      if (g.leader) out << " (leader " << *g.leader << ")";
      out << "\n";
    }
    for (auto o = offsets.lower_bound({id, "", INT32_MIN});
         o != offsets.end() && o->first.group == id; ++o) {
      const auto& [key, c] = *o;
      absl::StatusOr<int64_t> end = end_of(key.topic, key.partition);
      const int64_t leo = end.ok() ? *end : -1;
      const int64_t lag = end.ok() ? std::max<int64_t>(leo - c.offset, 0) : -1;
      if (!end.ok()) {
        notes.push_back(absl::StrCat(key.topic, "-", key.partition, ": ", end.status().message()));
      }
      if (options.json) {
        out << "{\"type\":\"committed_offset\",\"group\":" << JsonQuote(id)
            << ",\"topic\":" << JsonQuote(key.topic) << ",\"partition\":" << key.partition
            << ",\"committed_offset\":" << c.offset << ",\"log_end_offset\":" << leo
            << ",\"lag\":" << lag << ",\"metadata\":" << JsonQuote(c.metadata)
            << ",\"commit_timestamp\":" << c.commit_timestamp_ms << "}\n";
      } else {
        out << "  " << key.topic << " " << key.partition << " committed " << c.offset << " log_end "
            << leo << " lag " << lag;
        if (!c.metadata.empty()) out << " metadata " << QuoteBytes(c.metadata);
        out << "\n";
      }
    }
  }
  for (const std::string& note : notes) {
    if (options.json) {
      out << "{\"type\":\"note\",\"message\":" << JsonQuote(note) << "}\n";
    } else {
      out << "note: " << note << "\n";
    }
  }
  out.flush();
  return kExitClean;
}

}  // namespace varve::dump
