// The RocksDB baseline: RocksDB used as a log, as users do when they already have it. One
// database in <dir>, one column family per partition (the default one for partition 0), keys
// are 8-byte big-endian sequence numbers per partition (so they sort in append order), values
// are the records. Each appended batch is one WriteBatch with the WAL on; sync=true when the
// durability is group_commit. Reads are an iterator scan from the first key, with RocksDB's
// default block checksum verification.
//
// Options are RocksDB's defaults except: compression off (no system compresses here, and the
// records are incompressible anyway) and column families created on open.

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "base/status_macros.h"
#include "bench/system.h"

namespace varve::bench {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsCorruption())
    return absl::DataLossError(absl::StrCat("rocksdb ", what, ": ", s.ToString()));
  if (s.IsNoSpace()) {
    return absl::ResourceExhaustedError(absl::StrCat("rocksdb ", what, ": ", s.ToString()));
  }
  return absl::InternalError(absl::StrCat("rocksdb ", what, ": ", s.ToString()));
}

constexpr int64_t kSyncWalEvery = 1 << 20;  // interval durability: SyncWAL per 1 MiB

struct Shared {
  rocksdb::DB* db = nullptr;
  DurabilityMode durability;
  std::vector<rocksdb::ColumnFamilyHandle*> families;  // one per partition
  std::vector<std::unique_ptr<std::atomic<uint64_t>>> next_key;
  std::atomic<int64_t> unsynced_bytes{0};
};

class RocksWriter final : public Writer {
 public:
  RocksWriter(Shared* shared, int partition) : shared_(shared), partition_(partition) {
    options_.sync = shared->durability == DurabilityMode::kGroupCommit;
    options_.disableWAL = false;
  }

  absl::Status Append(absl::Span<const absl::string_view> records) override {
    uint64_t key = shared_->next_key[partition_]->fetch_add(records.size());
    batch_.Clear();
    int64_t bytes = 0;
    for (absl::string_view r : records) {
      char k[8];
      StoreBE64(k, key++);
      batch_.Put(shared_->families[partition_], rocksdb::Slice(k, sizeof k),
                 rocksdb::Slice(r.data(), r.size()));
      bytes += static_cast<int64_t>(r.size());
    }
    RETURN_IF_ERROR(FromRocks(shared_->db->Write(options_, &batch_), "write"));
    if (shared_->durability == DurabilityMode::kInterval) {
      const int64_t before = shared_->unsynced_bytes.fetch_add(bytes);
      if (before / kSyncWalEvery != (before + bytes) / kSyncWalEvery) {
        RETURN_IF_ERROR(FromRocks(shared_->db->SyncWAL(), "SyncWAL"));
      }
    }
    return absl::OkStatus();
  }

 private:
  Shared* const shared_;
  const int partition_;
  rocksdb::WriteOptions options_;
  rocksdb::WriteBatch batch_;
};

class RocksDbSystem final : public System {
 public:
  explicit RocksDbSystem(const SystemConfig& config) : config_(config) {}

  ~RocksDbSystem() override { Close().IgnoreError(); }

  absl::Status Open() {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    options.compression = rocksdb::kNoCompression;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (int p = 0; p < config_.partitions; ++p) {
      descriptors.emplace_back(
          p == 0 ? rocksdb::kDefaultColumnFamilyName : absl::StrCat("partition-", p),
          rocksdb::ColumnFamilyOptions(options));
      shared_.next_key.push_back(std::make_unique<std::atomic<uint64_t>>(0));
    }
    shared_.durability = config_.durability;
    RETURN_IF_ERROR(FromRocks(
        rocksdb::DB::Open(options, config_.dir, descriptors, &shared_.families, &shared_.db),
        "open"));
    return absl::OkStatus();
  }

  SystemKind kind() const override { return SystemKind::kRocksDb; }

  absl::StatusOr<std::unique_ptr<Writer>> NewWriter(int partition) override {
    return std::make_unique<RocksWriter>(&shared_, partition);
  }

  // Each Write has reached the WAL file when it returns.
  absl::Status FinishWrites() override { return absl::OkStatus(); }

  absl::Status PrepareScan() override {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    RETURN_IF_ERROR(FromRocks(shared_.db->Flush(flush, shared_.families), "flush"));
    // Let compactions triggered by the load finish, so they do not compete with the scan.
    while (true) {
      uint64_t pending = 0, running = 0;
      shared_.db->GetIntProperty("rocksdb.compaction-pending", &pending);
      shared_.db->GetIntProperty("rocksdb.num-running-compactions", &running);
      if (pending == 0 && running == 0) return absl::OkStatus();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  absl::StatusOr<int64_t> Scan(int partition, std::atomic<int64_t>* records_seen) override {
    rocksdb::ReadOptions read;
    read.verify_checksums = true;  // the default, stated: this is the checksum work
    std::unique_ptr<rocksdb::Iterator> it(
        shared_.db->NewIterator(read, shared_.families.at(partition)));
    int64_t seen = 0;
    int64_t unreported = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const rocksdb::Slice key = it->key();
      if (key.size() != 8 || LoadBE64(key.data()) != static_cast<uint64_t>(seen) ||
          static_cast<int64_t>(it->value().size()) != config_.record_size) {
        return absl::DataLossError(
            absl::StrCat("rocksdb partition ", partition, ": unexpected record ", seen));
      }
      ++seen;
      if (++unreported == 4096) {
        records_seen->fetch_add(unreported, std::memory_order_relaxed);
        unreported = 0;
      }
    }
    records_seen->fetch_add(unreported, std::memory_order_relaxed);
    RETURN_IF_ERROR(FromRocks(it->status(), "iterator"));
    return seen;
  }

  absl::Status Close() override {
    if (shared_.db == nullptr) return absl::OkStatus();
    absl::Status status;
    for (rocksdb::ColumnFamilyHandle* h : shared_.families) {
      status.Update(FromRocks(shared_.db->DestroyColumnFamilyHandle(h), "close family"));
    }
    shared_.families.clear();
    status.Update(FromRocks(shared_.db->Close(), "close"));
    delete shared_.db;
    shared_.db = nullptr;
    return status;
  }

 private:
  const SystemConfig config_;
  Shared shared_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<System>> OpenRocksDbSystem(const SystemConfig& config) {
  auto system = std::make_unique<RocksDbSystem>(config);
  RETURN_IF_ERROR(system->Open());
  return system;
}

}  // namespace varve::bench
