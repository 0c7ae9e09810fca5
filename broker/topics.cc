#include "broker/topics.h"

#include <chrono>
#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "log/compression/decompress.h"
#include "log/flusher.h"

namespace varve::broker {
namespace {

// Topic configs that map onto LogConfig (log/log_config.h).
const std::set<std::string>& LogConfigKeys() {
  static const auto* keys =
      new std::set<std::string>{"segment.bytes",       "segment.ms",           "segment.jitter.ms",
                                "segment.index.bytes", "index.interval.bytes", "max.message.bytes",
                                "retention.ms",        "retention.bytes",      "flush.ms",
                                "varve.durability",    "varve.flush.bytes"};
  return *keys;
}

// Kafka topic configs varve accepts only at the value that describes what it does.
const std::map<std::string, std::set<std::string>>& FixedConfigs() {
  static const auto* fixed = new std::map<std::string, std::set<std::string>>{
      {"cleanup.policy", {"delete"}},
      {"compression.type", {"producer"}},
      {"message.timestamp.type", {"CreateTime"}},
      {"min.insync.replicas", {"1"}},
      {"unclean.leader.election.enable", {"false"}},
      {"message.downconversion.enable", {"true", "false"}},
  };
  return *fixed;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::array<uint8_t, 16> NewTopicId() {
  const std::string bytes = RandomBytes(16);
  std::array<uint8_t, 16> id{};
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

}  // namespace

void Partition::WaitForData(std::weak_ptr<void> owner, std::function<void()> fn) {
  std::lock_guard lock(waiters_mu_);
  std::erase_if(waiters_, [](const auto& w) { return w.first.expired(); });
  // One registration per owner: a fetch re-arming all its partitions after an append to one
  // of them must not pile up entries on the others.
  for (const auto& w : waiters_) {
    if (!w.first.owner_before(owner) && !owner.owner_before(w.first)) return;
  }
  waiters_.emplace_back(std::move(owner), std::move(fn));
}

void Partition::SnapshotProducersInBackground(int64_t offset) {
  std::lock_guard lock(produce_mu_);
  SnapshotProducersInBackground(offset, producers_);
}

void Partition::SnapshotProducersInBackground(int64_t offset, const ProducerStateTable& table) {
  Flusher::Global().Run([log = log_, offset, bytes = table.EncodeSnapshot()] {
    absl::Status s = WriteProducerSnapshotBytes(log->dir(), offset, bytes);
    // A failed snapshot costs only a longer replay after a crash: report it and go on.
    if (!s.ok()) {
      std::fprintf(stderr, "varve-broker: producer snapshot of %s at %ld failed: %s\n",
                   log->dir().c_str(), static_cast<long>(offset), std::string(s.message()).c_str());
    }
  });
}

void Partition::NotifyAppended() {
  std::vector<std::pair<std::weak_ptr<void>, std::function<void()>>> ready;
  {
    std::lock_guard lock(waiters_mu_);
    if (waiters_.empty()) return;
    ready.swap(waiters_);
  }
  for (auto& [owner, fn] : ready) {
    if (!owner.expired()) fn();
  }
}

absl::StatusOr<LogConfig> TopicManager::ResolveConfig(
    const std::map<std::string, std::string>& configs) const {
  std::map<std::string, std::string> log_props;
  for (const auto& [key, value] : configs) {
    if (LogConfigKeys().count(key)) {
      log_props[key] = value;
      continue;
    }
    auto fixed = FixedConfigs().find(key);
    if (fixed == FixedConfigs().end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown topic config \"", key, "\""));
    }
    if (!fixed->second.count(value)) {
      std::string allowed;
      for (const std::string& v : fixed->second)
        absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", v);
      return absl::InvalidArgumentError(
          absl::StrCat(key, "=", value, " is not supported by varve (supported: ", allowed, ")"));
    }
  }
  return LogConfig::FromProperties(log_props, config_.log_defaults);
}

absl::StatusOr<std::unique_ptr<TopicManager>> TopicManager::Open(const BrokerConfig& config,
                                                                 MetadataStore* store) {
  std::unique_ptr<TopicManager> m(new TopicManager(config, store));
  RETURN_IF_ERROR(m->Load());
  return m;
}

TopicManager::~TopicManager() { Close().IgnoreError(); }

absl::Status TopicManager::Load() {
  // Finish deletions a crash interrupted: the logs go first, then the records.
  ASSIGN_OR_RETURN(std::vector<std::string> deleting, store_->TopicsBeingDeleted());
  ASSIGN_OR_RETURN(std::vector<TopicRecord> records, store_->ListTopics());
  std::map<std::string, TopicRecord> known;
  for (TopicRecord& r : records) known.emplace(r.name, std::move(r));
  std::map<std::string, LogConfig> configs;
  for (const auto& [name, r] : known) {
    absl::StatusOr<LogConfig> c = ResolveConfig(r.configs);
    if (!c.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stored configs of topic ", name, ": ", c.status().message()));
    }
    configs.emplace(name, *c);
  }
  LogOptions options;
  options.config = config_.log_defaults;
  // ListOffsets by time finds the exact record inside compressed batches, as Kafka does.
  options.decompress = [](Compression codec, absl::string_view payload, std::string* out) {
    return Decompress(codec, payload, DecompressLimits(), out);
  };
  ASSIGN_OR_RETURN(
      logs_, LogManager::Open(config_.data_dir, options,
                              [&](const TopicPartition& tp) -> absl::StatusOr<LogConfig> {
                                auto it = configs.find(tp.topic);
                                return it == configs.end() ? config_.log_defaults : it->second;
                              }));
  for (const std::string& name : deleting) {
    for (const TopicPartition& tp : logs_->List()) {
      if (tp.topic == name) RETURN_IF_ERROR(logs_->Delete(tp));
    }
    RETURN_IF_ERROR(store_->FinishTopicDelete(name));
    known.erase(name);
  }
  // Adopt partition directories of topics the store does not know, and partitions beyond a
  // known topic's count. Only the records this changes are written back (each is a synced
  // write, so rewriting every topic would make start-up cost one fsync per topic).
  std::set<std::string> adopted, changed;
  for (const TopicPartition& tp : logs_->List()) {
    auto [it, is_new] = known.try_emplace(tp.topic);
    TopicRecord& r = it->second;
    if (is_new) {
      r = TopicRecord{
          .name = tp.topic, .partitions = 0, .topic_id = NewTopicId(), .created_ms = NowMs()};
      adopted.insert(tp.topic);
      configs.emplace(tp.topic, config_.log_defaults);
      warnings_.push_back(absl::StrCat("adopted partition directories of topic \"", tp.topic,
                                       "\", which the metadata store did not know"));
    }
    if (tp.partition < r.partitions) continue;
    if (!adopted.count(tp.topic)) {
      warnings_.push_back(absl::StrCat("partition directory ", tp.DirName(),
                                       " lies beyond the topic's ", r.partitions,
                                       " partitions; the topic now has ", tp.partition + 1));
    }
    r.partitions = tp.partition + 1;
    changed.insert(tp.topic);
  }
  for (auto& [name, r] : known) {
    auto topic = std::make_shared<Topic>();
    topic->record = r;
    topic->config = configs.at(name);
    for (int32_t p = 0; p < r.partitions; ++p) {
      ASSIGN_OR_RETURN(std::shared_ptr<Partition> partition,
                       OpenPartition({name, p}, topic->config));
      ++partitions_opened_;
      if (!partition->log().open_info().clean_shutdown) ++partitions_recovered_;
      topic->partitions.push_back(std::move(partition));
    }
    if (changed.count(name)) RETURN_IF_ERROR(store_->PutTopic(r));
    topics_.emplace(name, std::move(topic));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Partition>> TopicManager::OpenPartition(const TopicPartition& tp,
                                                                       const LogConfig& config) {
  ASSIGN_OR_RETURN(std::shared_ptr<Log> log, logs_->GetOrCreate(tp, config));
  std::string notes;
  absl::StatusOr<ProducerStateTable> producers = RecoverProducerState(*log, &notes);
  if (!producers.ok()) return producers.status();
  auto partition = std::make_shared<Partition>(tp, log);
  // Producers whose batches retention deleted while the broker was down.
  producers->RemoveBelow(log->start_offset());
  partition->producers() = std::move(*producers);
  if (!notes.empty()) {
    std::string warning = tp.DirName();
    warning.append(": ").append(notes);
    warnings_.push_back(std::move(warning));
  }
  return partition;
}

TopicError TopicManager::Create(const std::string& name, int32_t partitions,
                                int16_t replication_factor,
                                const std::map<std::string, std::string>& configs,
                                bool validate_only) {
  if (absl::Status s = ValidateTopicName(name); !s.ok()) {
    return {kInvalidTopicException, std::string(s.message())};
  }
  if (partitions == -1) partitions = config_.num_partitions;
  if (partitions <= 0) {
    return {kInvalidPartitions,
            absl::StrCat("number of partitions must be at least 1, got ", partitions)};
  }
  if (partitions > 100000) {
    return {kInvalidPartitions, absl::StrCat(partitions, " partitions is more than 100000")};
  }
  if (replication_factor != -1 && replication_factor != 1) {
    return {kInvalidReplicationFactor,
            absl::StrCat("replication factor ", replication_factor,
                         " is larger than the 1 broker available (single node)")};
  }
  absl::StatusOr<LogConfig> config = ResolveConfig(configs);
  if (!config.ok()) return {kInvalidConfig, std::string(config.status().message())};
  std::lock_guard admin(admin_mu_);
  {
    std::lock_guard lock(mu_);
    if (closed_) return {kUnknownServerError, "broker is shutting down"};
    if (topics_.count(name)) return {kTopicAlreadyExists, absl::StrCat("topic ", name, " exists")};
  }
  if (validate_only) return {};
  auto topic = std::make_shared<Topic>();
  topic->record = TopicRecord{.name = name,
                              .partitions = partitions,
                              .topic_id = NewTopicId(),
                              .created_ms = NowMs(),
                              .configs = configs};
  topic->config = *config;
  for (int32_t p = 0; p < partitions; ++p) {
    absl::StatusOr<std::shared_ptr<Partition>> partition = OpenPartition({name, p}, *config);
    if (!partition.ok()) {
      return {kKafkaStorageError,
              absl::StrCat("creating partition ", p, ": ", partition.status().message())};
    }
    topic->partitions.push_back(std::move(*partition));
  }
  if (absl::Status s = store_->PutTopic(topic->record); !s.ok()) {
    return {kKafkaStorageError, std::string(s.message())};
  }
  std::lock_guard lock(mu_);
  topics_.emplace(name, std::move(topic));
  return {};
}

TopicError TopicManager::Delete(const std::string& name) {
  std::lock_guard admin(admin_mu_);
  std::shared_ptr<const Topic> topic = Get(name);
  if (!topic) return {kUnknownTopicOrPartition, absl::StrCat("topic ", name, " does not exist")};
  auto storage_error = [](const absl::Status& s) {
    return TopicError{kKafkaStorageError, std::string(s.message())};
  };
  if (absl::Status s = store_->MarkTopicDeleting(name); !s.ok()) return storage_error(s);
  {
    std::lock_guard lock(mu_);
    topics_.erase(name);
  }
  for (const auto& partition : topic->partitions) {
    if (absl::Status s = logs_->Delete(partition->tp()); !s.ok()) return storage_error(s);
    partition->NotifyAppended();  // parked fetches find the partition gone
  }
  if (absl::Status s = store_->FinishTopicDelete(name); !s.ok()) return storage_error(s);
  return {};
}

std::shared_ptr<const Topic> TopicManager::Get(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::shared_ptr<Partition> TopicManager::GetPartition(const std::string& name,
                                                      int32_t partition) const {
  std::shared_ptr<const Topic> topic = Get(name);
  if (!topic || partition < 0 || partition >= static_cast<int32_t>(topic->partitions.size())) {
    return nullptr;
  }
  return topic->partitions[partition];
}

std::vector<std::shared_ptr<const Topic>> TopicManager::List() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const Topic>> out;
  out.reserve(topics_.size());
  for (const auto& [name, topic] : topics_) out.push_back(topic);
  return out;
}

void TopicManager::ApplyRetention() {
  for (const auto& topic : List()) {
    for (const auto& partition : topic->partitions) {
      absl::StatusOr<Log::RetentionResult> r = partition->log().ApplyRetention();
      if (!r.ok() && !absl::IsFailedPrecondition(r.status())) {
        std::fprintf(stderr, "varve-broker: retention of %s failed: %s\n",
                     partition->tp().DirName().c_str(), std::string(r.status().message()).c_str());
      }
    }
  }
}

int TopicManager::ExpireProducers(int64_t now_ms, int64_t expiration_ms) {
  int removed = 0;
  for (const auto& topic : List()) {
    for (const auto& partition : topic->partitions) {
      std::lock_guard produce(partition->produce_mu());
      ProducerStateTable& producers = partition->producers();
      removed += producers.RemoveBelow(partition->log().start_offset());
      removed += producers.RemoveExpired(now_ms, expiration_ms);
    }
  }
  return removed;
}

absl::Status TopicManager::Close() {
  std::lock_guard admin(admin_mu_);
  std::map<std::string, std::shared_ptr<const Topic>> topics;
  {
    std::lock_guard lock(mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
    topics.swap(topics_);
  }
  absl::Status first;
  for (const auto& [name, topic] : topics) {
    for (const auto& partition : topic->partitions) {
      std::lock_guard produce(partition->produce_mu());
      absl::Status s = WriteProducerSnapshot(partition->log().dir(), partition->log().end_offset(),
                                             partition->producers());
      if (first.ok()) first = s;
      partition->NotifyAppended();
    }
  }
  if (logs_) {
    absl::Status s = logs_->Close();
    if (first.ok()) first = s;
  }
  return first;
}

}  // namespace varve::broker
