#include "broker/group/group_log.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "base/status_macros.h"
#include "rocksdb/write_batch.h"

namespace varve::broker::group {
namespace {

void AddToBatch(const CoordinatorRecord& record, rocksdb::WriteBatch* batch) {
  const std::string key = absl::StrCat(GroupLog::kRecordPrefix, EncodeKey(record));
  std::optional<std::string> value = EncodeValue(record);
  if (value) {
    batch->Put(key, *value);
  } else {
    batch->Delete(key);
  }
}

void ApplyToLoaded(const CoordinatorRecord& record, LoadedGroups* loaded) {
  if (const auto* o = std::get_if<OffsetRecord>(&record)) {
    if (o->value) {
      loaded->offsets[o->key] = *o->value;
    } else {
      loaded->offsets.erase(o->key);
    }
    return;
  }
  const auto& g = std::get<GroupRecord>(record);
  if (g.value) {
    loaded->groups[g.group] = *g.value;
  } else {
    loaded->groups.erase(g.group);
  }
}

void PutApplied(int32_t partition, int64_t next, rocksdb::WriteBatch* batch) {
  char b[8];
  StoreBE64(b, static_cast<uint64_t>(next));
  batch->Put(GroupLog::AppliedKey(partition), rocksdb::Slice(b, 8));
}

}  // namespace

std::string GroupLog::AppliedKey(int32_t partition) {
  char b[4];
  StoreBE32(b, static_cast<uint32_t>(partition));
  return absl::StrCat(kAppliedPrefix, absl::string_view(b, 4));
}

absl::StatusOr<std::unique_ptr<GroupLog>> GroupLog::Open(TopicManager* topics, MetadataStore* store,
                                                         const Options& options,
                                                         LoadedGroups* loaded,
                                                         std::vector<std::string>* warnings) {
  std::shared_ptr<const Topic> topic = topics->Get(kOffsetsTopic);
  if (!topic) {
    std::map<std::string, std::string> configs = {
        {"retention.ms", absl::StrCat(options.retention_ms)},
        {"retention.bytes", "-1"},
        {"segment.bytes", absl::StrCat(options.segment_bytes)}};
    TopicError e = topics->Create(kOffsetsTopic, options.num_partitions, 1, configs,
                                  /*validate_only=*/false);
    if (!e.ok()) {
      return absl::InternalError(absl::StrCat("creating ", kOffsetsTopic, ": ", e.message));
    }
    topic = topics->Get(kOffsetsTopic);
    if (!topic) return absl::InternalError(absl::StrCat(kOffsetsTopic, " vanished"));
  } else if (static_cast<int32_t>(topic->partitions.size()) != options.num_partitions) {
    warnings->push_back(absl::StrCat(kOffsetsTopic, " has ", topic->partitions.size(),
                                     " partitions; offsets.topic.num.partitions=",
                                     options.num_partitions, " applies only to a new topic"));
  }
  std::unique_ptr<GroupLog> log(new GroupLog(store, options));

  // The materialized state.
  absl::Status decode_error;
  RETURN_IF_ERROR(store->Scan(kRecordPrefix, [&](absl::string_view key, absl::string_view value) {
    absl::StatusOr<CoordinatorRecord> r =
        DecodeRecord(key.substr(sizeof(kRecordPrefix) - 1), value);
    if (!r.ok()) {
      decode_error = r.status();
      return false;
    }
    ApplyToLoaded(*r, loaded);
    return true;
  }));
  RETURN_IF_ERROR(decode_error);

  // Replay each partition's tail past its applied position.
  for (int32_t p = 0; p < static_cast<int32_t>(topic->partitions.size()); ++p) {
    auto queue = std::make_unique<PartitionQueue>();
    queue->index = p;
    queue->partition = topic->partitions[p];
    Log& plog = queue->partition->log();
    ASSIGN_OR_RETURN(std::optional<std::string> stored, store->Get(AppliedKey(p)));
    int64_t applied = plog.start_offset();
    if (stored) {
      if (stored->size() != 8) {
        return absl::DataLossError(absl::StrCat("metadata store: applied position of ",
                                                kOffsetsTopic, "-", p, " is corrupt"));
      }
      applied = static_cast<int64_t>(LoadBE64(stored->data()));
    }
    if (applied < plog.start_offset()) {
      warnings->push_back(absl::StrCat(kOffsetsTopic, "-", p, ": records from ", applied, " to ",
                                       plog.start_offset(), " were deleted before being applied"));
      applied = plog.start_offset();
    }
    if (applied > plog.end_offset()) {
      // The log lost its tail (page-cache mode and a power loss): RocksDB is ahead. Its state
      // stands; new records continue from the log's end.
      warnings->push_back(absl::StrCat(kOffsetsTopic, "-", p, ": applied position ", applied,
                                       " is past the log end ", plog.end_offset()));
      applied = plog.end_offset();
    }
    const int64_t end = plog.end_offset();
    if (applied < end) {
      rocksdb::WriteBatch batch;
      LogReader reader = plog.NewReader(applied, end);
      RecordView record;
      int replayed = 0;
      while (reader.NextRecord(&record)) {
        if (!record.key) continue;
        absl::StatusOr<CoordinatorRecord> r = DecodeRecord(*record.key, record.value);
        if (!r.ok()) {
          return absl::DataLossError(absl::StrCat(kOffsetsTopic, "-", p, " offset ", record.offset,
                                                  ": ", r.status().message()));
        }
        AddToBatch(*r, &batch);
        ApplyToLoaded(*r, loaded);
        ++replayed;
      }
      RETURN_IF_ERROR(reader.status());
      PutApplied(p, end, &batch);
      RETURN_IF_ERROR(store->Write(&batch, /*sync=*/true));
      warnings->push_back(absl::StrCat("replayed ", replayed, " group records of ", kOffsetsTopic,
                                       "-", p, " (offsets ", applied, " to ", end,
                                       ") that were not yet applied"));
    }
    log->partitions_.push_back(std::move(queue));
  }
  log->applier_ = std::thread([l = log.get()] { l->ApplierLoop(); });
  return log;
}

GroupLog::~GroupLog() { Stop(); }

void GroupLog::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (applier_.joinable()) applier_.join();
}

void GroupLog::Append(std::vector<CoordinatorRecord> records,
                      std::function<void(absl::Status)> done) {
  PartitionQueue& p = *partitions_[PartitionForGroup(RecordGroup(records.front()), partitions())];
  std::lock_guard append(p.append_mu);
  AppendLocked(p, std::move(records), std::move(done));
}

void GroupLog::AppendLocked(PartitionQueue& p, std::vector<CoordinatorRecord> records,
                            std::function<void(absl::Status)> done) {
  auto entry = std::make_shared<Entry>();
  entry->done = std::move(done);
  std::vector<std::string> keys, values;
  std::vector<RecordToAppend> to_append;
  keys.reserve(records.size());
  values.reserve(records.size());
  for (const CoordinatorRecord& r : records) {
    keys.push_back(EncodeKey(r));
    std::optional<std::string> v = EncodeValue(r);
    values.push_back(v.value_or(""));
    to_append.push_back(
        {.key = keys.back(),
         .value = v ? std::optional<absl::string_view>(values.back()) : std::nullopt});
  }
  entry->records = std::move(records);
  {
    std::lock_guard lock(mu_);
    p.queue.push_back(entry);
  }
  // The callback may run here (page-cache mode, or an error) or later on a background thread;
  // it only marks the entry, the applier does the rest.
  p.partition->log().AppendAsync(to_append, [this, entry](absl::StatusOr<AppendInfo> info) {
    std::lock_guard lock(mu_);
    entry->appended = true;
    if (info.ok()) {
      entry->end_offset = info->last_offset + 1;
    } else {
      entry->status = info.status();
    }
    cv_.notify_all();
  });
}

absl::StatusOr<int> GroupLog::Compact() {
  int rewritten = 0;
  for (auto& p : partitions_) {
    ASSIGN_OR_RETURN(bool done, CompactPartition(*p));
    rewritten += done ? 1 : 0;
  }
  return rewritten;
}

absl::StatusOr<bool> GroupLog::CompactPartition(PartitionQueue& p) {
  Log& log = p.partition->log();
  if (log.SizeBytes() - p.size_after_rewrite->load() < options_.compact_min_garbage_bytes) {
    return false;
  }
  std::lock_guard append(p.append_mu);
  {
    // Everything appended so far is applied: the store holds exactly the log's state.
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return p.queue.empty() || stopping_; });
    if (stopping_) return false;
  }
  std::vector<CoordinatorRecord> live;
  int64_t live_bytes = 0;
  absl::Status decode_error;
  RETURN_IF_ERROR(store_->Scan(kRecordPrefix, [&](absl::string_view key, absl::string_view value) {
    absl::StatusOr<CoordinatorRecord> r =
        DecodeRecord(key.substr(sizeof(kRecordPrefix) - 1), value);
    if (!r.ok()) {
      decode_error = r.status();
      return false;
    }
    if (PartitionForGroup(RecordGroup(*r), partitions()) == p.index) {
      live_bytes += static_cast<int64_t>(key.size() + value.size());
      live.push_back(std::move(*r));
    }
    return true;
  }));
  RETURN_IF_ERROR(decode_error);
  const int64_t grown = log.SizeBytes() - p.size_after_rewrite->load();
  if (grown < std::max(options_.compact_min_garbage_bytes, live_bytes)) return false;

  const int64_t rewrite_start = log.end_offset();
  if (live.empty()) {
    // Nothing is live: everything before the end can go at once.
    absl::StatusOr<Log::RetentionResult> r = log.DeleteRecordsBefore(rewrite_start);
    if (!r.ok()) return r.status();
    p.size_after_rewrite->store(log.SizeBytes());
    return true;
  }
  // Batches of at most ~256 KiB of keys and values, well under max.message.bytes.
  std::vector<std::vector<CoordinatorRecord>> chunks(1);
  int64_t chunk_bytes = 0;
  for (CoordinatorRecord& r : live) {
    const int64_t bytes =
        static_cast<int64_t>(EncodeKey(r).size() + EncodeValue(r).value_or("").size());
    if (!chunks.back().empty() && chunk_bytes + bytes > (256 << 10)) {
      chunks.emplace_back();
      chunk_bytes = 0;
    }
    chunks.back().push_back(std::move(r));
    chunk_bytes += bytes;
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    std::function<void(absl::Status)> done = [](absl::Status) {};
    if (i + 1 == chunks.size()) {
      // Applied in order, so the last chunk's completion means the whole rewrite is durable
      // and applied. A failure leaves the log start where it was (nothing is lost).
      done = [partition = p.partition, rewrite_start, size = p.size_after_rewrite,
              index = p.index](absl::Status s) {
        Log& l = partition->log();
        if (s.ok()) {
          absl::StatusOr<Log::RetentionResult> r = l.DeleteRecordsBefore(rewrite_start);
          if (!r.ok()) s = r.status();
        }
        size->store(l.SizeBytes());
        if (!s.ok()) {
          std::fprintf(stderr, "varve-broker: rewriting %s-%d failed: %s\n", kOffsetsTopic, index,
                       std::string(s.message()).c_str());
        }
      };
    }
    AppendLocked(p, std::move(chunks[i]), std::move(done));
  }
  return true;
}

void GroupLog::ApplierLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    bool worked = false;
    bool pending = false;
    for (auto& p : partitions_) {
      std::vector<std::shared_ptr<Entry>> ready;
      while (!p->queue.empty() && p->queue.front()->appended) {
        ready.push_back(std::move(p->queue.front()));
        p->queue.pop_front();
      }
      pending |= !p->queue.empty();
      if (ready.empty()) continue;
      worked = true;
      lock.unlock();
      ApplyReady(*p, std::move(ready));
      lock.lock();
      cv_.notify_all();  // Compact waits for a partition's queue to drain
    }
    if (worked) continue;
    if (stopping_ && !pending) return;
    cv_.wait(lock);
  }
}

void GroupLog::ApplyReady(PartitionQueue& p, std::vector<std::shared_ptr<Entry>> ready) {
  Log& log = p.partition->log();
  int64_t end = 0;
  for (const auto& e : ready) {
    if (e->status.ok()) end = std::max(end, e->end_offset);
  }
  absl::Status status;
  if (end > 0 && log.durable_offset() < end) status = log.Flush();
  if (status.ok() && end > 0) {
    rocksdb::WriteBatch batch;
    for (const auto& e : ready) {
      if (!e->status.ok()) continue;
      for (const CoordinatorRecord& r : e->records) AddToBatch(r, &batch);
    }
    PutApplied(p.partition->tp().partition, end, &batch);
    status = store_->Write(&batch, /*sync=*/true);
  }
  for (const auto& e : ready) e->done(e->status.ok() ? status : e->status);
}

}  // namespace varve::broker::group
