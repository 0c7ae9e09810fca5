#include "broker/metadata_store.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "base/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace varve::broker {
namespace {

constexpr char kClusterIdKey[] = "cluster/id";
constexpr char kTopicPrefix[] = "topic/";
constexpr char kDeletingPrefix[] = "deleting/";
constexpr char kProducerIdKey[] = "producer/next-id";
// TopicRecord encoding version; a newer broker may add fields after the current ones.
constexpr uint8_t kTopicFormat = 1;

absl::Status ToStatus(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat("metadata store: ", what, ": ", s.ToString());
  if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
    return absl::FailedPreconditionError(msg);
  }
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  StoreBE32(b, v);
  out->append(b, 4);
}

void PutString(std::string* out, absl::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s.data(), s.size());
}

// A bounded reader over an encoded record; every read checks the bytes left.
class Cursor {
 public:
  explicit Cursor(absl::string_view b) : b_(b) {}
  bool U8(uint8_t* v) {
    if (b_.size() < 1) return false;
    *v = static_cast<uint8_t>(b_[0]);
    b_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t* v) {
    if (b_.size() < 4) return false;
    *v = LoadBE32(b_.data());
    b_.remove_prefix(4);
    return true;
  }
  bool I64(int64_t* v) {
    if (b_.size() < 8) return false;
    *v = static_cast<int64_t>(LoadBE64(b_.data()));
    b_.remove_prefix(8);
    return true;
  }
  bool Raw(size_t n, std::string* out) {
    if (b_.size() < n) return false;
    out->assign(b_.data(), n);
    b_.remove_prefix(n);
    return true;
  }
  bool String(std::string* out) {
    uint32_t n;
    return U32(&n) && Raw(n, out);
  }

 private:
  absl::string_view b_;
};

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::read(fd, out.data() + got, n - got);
      if (r <= 0) break;
      got += r;
    }
    ::close(fd);
  }
  return out;
}

std::string MetadataStore::EncodeTopic(const TopicRecord& t) {
  std::string out;
  out.push_back(static_cast<char>(kTopicFormat));
  PutU32(&out, static_cast<uint32_t>(t.partitions));
  out.append(reinterpret_cast<const char*>(t.topic_id.data()), t.topic_id.size());
  char b[8];
  StoreBE64(b, static_cast<uint64_t>(t.created_ms));
  out.append(b, 8);
  PutU32(&out, static_cast<uint32_t>(t.configs.size()));
  for (const auto& [k, v] : t.configs) {
    PutString(&out, k);
    PutString(&out, v);
  }
  return out;
}

absl::StatusOr<TopicRecord> MetadataStore::DecodeTopic(absl::string_view name,
                                                       absl::string_view bytes) {
  auto bad = [&](absl::string_view why) {
    return absl::DataLossError(
        absl::StrCat("metadata store: record of topic \"", name, "\" is corrupt: ", why));
  };
  Cursor c(bytes);
  TopicRecord t;
  t.name = std::string(name);
  uint8_t format;
  uint32_t partitions, count;
  std::string id;
  if (!c.U8(&format)) return bad("empty");
  if (format != kTopicFormat) return bad(absl::StrCat("unknown format ", format));
  if (!c.U32(&partitions) || !c.Raw(16, &id) || !c.I64(&t.created_ms) || !c.U32(&count)) {
    return bad("truncated header");
  }
  t.partitions = static_cast<int32_t>(partitions);
  std::copy(id.begin(), id.end(), t.topic_id.begin());
  for (uint32_t i = 0; i < count; ++i) {
    std::string k, v;
    if (!c.String(&k) || !c.String(&v)) return bad(absl::StrCat("truncated config ", i));
    t.configs.emplace(std::move(k), std::move(v));
  }
  return t;
}

MetadataStore::MetadataStore(std::unique_ptr<rocksdb::DB> db, std::string dir)
    : db_(std::move(db)), dir_(std::move(dir)) {}

MetadataStore::~MetadataStore() = default;

absl::StatusOr<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.max_open_files = 64;
  options.keep_log_file_num = 3;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(ToStatus(rocksdb::DB::Open(options, dir, &raw), absl::StrCat("opening ", dir)));
  std::unique_ptr<MetadataStore> store(new MetadataStore(std::unique_ptr<rocksdb::DB>(raw), dir));
  RETURN_IF_ERROR(store->LoadOrCreateClusterId());
  return store;
}

absl::Status MetadataStore::LoadOrCreateClusterId() {
  ASSIGN_OR_RETURN(std::optional<std::string> id, Get(kClusterIdKey));
  if (id) {
    cluster_id_ = *id;
    return absl::OkStatus();
  }
  cluster_id_ = absl::WebSafeBase64Escape(RandomBytes(16));
  rocksdb::WriteBatch batch;
  batch.Put(kClusterIdKey, cluster_id_);
  return Write(&batch, /*sync=*/true);
}

absl::Status MetadataStore::Write(rocksdb::WriteBatch* batch, bool sync) {
  rocksdb::WriteOptions options;
  options.sync = sync;
  return ToStatus(db_->Write(options, batch), "write");
}

absl::StatusOr<std::optional<std::string>> MetadataStore::Get(absl::string_view key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(ToStatus(s, absl::StrCat("reading ", key)));
  return std::optional<std::string>(std::move(value));
}

absl::Status MetadataStore::Scan(
    absl::string_view prefix,
    const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (!absl::StartsWith(key, prefix)) break;
    if (!fn(key, absl::string_view(it->value().data(), it->value().size()))) break;
  }
  return ToStatus(it->status(), absl::StrCat("scanning ", prefix));
}

absl::StatusOr<std::vector<TopicRecord>> MetadataStore::ListTopics() const {
  std::vector<TopicRecord> out;
  absl::Status decode_error;
  RETURN_IF_ERROR(Scan(kTopicPrefix, [&](absl::string_view key, absl::string_view value) {
    absl::StatusOr<TopicRecord> t = DecodeTopic(key.substr(strlen(kTopicPrefix)), value);
    if (!t.ok()) {
      decode_error = t.status();
      return false;
    }
    out.push_back(std::move(*t));
    return true;
  }));
  RETURN_IF_ERROR(decode_error);
  return out;
}

absl::Status MetadataStore::PutTopic(const TopicRecord& topic) {
  rocksdb::WriteBatch batch;
  batch.Put(absl::StrCat(kTopicPrefix, topic.name), EncodeTopic(topic));
  return Write(&batch, /*sync=*/true);
}

absl::Status MetadataStore::MarkTopicDeleting(const std::string& name) {
  rocksdb::WriteBatch batch;
  batch.Put(absl::StrCat(kDeletingPrefix, name), "");
  return Write(&batch, /*sync=*/true);
}

absl::Status MetadataStore::FinishTopicDelete(const std::string& name) {
  rocksdb::WriteBatch batch;
  batch.Delete(absl::StrCat(kTopicPrefix, name));
  batch.Delete(absl::StrCat(kDeletingPrefix, name));
  return Write(&batch, /*sync=*/true);
}

absl::StatusOr<std::vector<std::string>> MetadataStore::TopicsBeingDeleted() const {
  std::vector<std::string> out;
  RETURN_IF_ERROR(Scan(kDeletingPrefix, [&](absl::string_view key, absl::string_view) {
    out.emplace_back(key.substr(strlen(kDeletingPrefix)));
    return true;
  }));
  return out;
}

absl::StatusOr<int64_t> MetadataStore::AllocateProducerId() {
  std::lock_guard lock(producer_mu_);
  ASSIGN_OR_RETURN(std::optional<std::string> stored, Get(kProducerIdKey));
  int64_t next = 0;
  if (stored) {
    if (stored->size() != 8) {
      return absl::DataLossError(absl::StrCat("metadata store: ", kProducerIdKey, " has ",
                                              stored->size(), " bytes, expected 8"));
    }
    next = static_cast<int64_t>(LoadBE64(stored->data()));
  }
  char b[8];
  StoreBE64(b, static_cast<uint64_t>(next + 1));
  rocksdb::WriteBatch batch;
  batch.Put(kProducerIdKey, rocksdb::Slice(b, 8));
  RETURN_IF_ERROR(Write(&batch, /*sync=*/true));
  return next;
}

}  // namespace varve::broker
