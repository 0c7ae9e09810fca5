#pragma once

// LogManager: the logs of many partitions under one data directory, one subdirectory per
// topic-partition named "<topic>-<partition>" as Kafka names them.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<LogManager> logs, LogManager::Open("/var/lib/varve", {}));
//   ASSIGN_OR_RETURN(std::shared_ptr<Log> log, logs->GetOrCreate({"orders", 0}));
//   ASSIGN_OR_RETURN(AppendInfo info, log->Append(records));
//
// Topic names become directory names, so they are validated before any path is built:
// 1–249 characters from [a-zA-Z0-9._-], and neither "." nor "..". `../x`, `a/b`, "" and
// over-long names are rejected with InvalidArgument saying why.
//
// Thread-safe: every method may be called from any thread. Logs are shared_ptr so a caller that
// still holds one after Delete() keeps a usable (closed) object rather than a dangling pointer.
//
// Opening scans the data directory and opens every partition directory it finds; directories
// whose names are not "<valid topic>-<partition>" (and Kafka's "-delete" directories) are
// left alone and listed in skipped_entries().

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "log/log.h"

namespace varve {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
  // "<topic>-<partition>", the directory name.
  std::string DirName() const;
};

// Ok if `topic` is a legal topic name; otherwise InvalidArgument naming the problem.
absl::Status ValidateTopicName(absl::string_view topic);

// Parses a "<topic>-<partition>" directory name; InvalidArgument if it is not one.
absl::StatusOr<TopicPartition> ParseTopicPartitionDir(absl::string_view name);

class LogManager {
 public:
  // Opens (creating if needed) `data_dir` and every log in it. `options` is the default for
  // logs created later and for the ones found.
  static absl::StatusOr<std::unique_ptr<LogManager>> Open(const std::string& data_dir,
                                                          const LogOptions& options);
  // Like Open, but each log found is opened with the config `config_for` returns for its
  // partition (a broker's per-topic configs); an error from it fails the open.
  using ConfigResolver = std::function<absl::StatusOr<LogConfig>(const TopicPartition&)>;
  static absl::StatusOr<std::unique_ptr<LogManager>> Open(const std::string& data_dir,
                                                          const LogOptions& options,
                                                          const ConfigResolver& config_for);
  ~LogManager();

  // The log for `tp`, created with `config` (default: the manager's) if it does not exist.
  absl::StatusOr<std::shared_ptr<Log>> GetOrCreate(const TopicPartition& tp);
  absl::StatusOr<std::shared_ptr<Log>> GetOrCreate(const TopicPartition& tp,
                                                   const LogConfig& config);
  // NotFound if there is no such log.
  absl::StatusOr<std::shared_ptr<Log>> Get(const TopicPartition& tp) const;
  // Every partition, sorted.
  std::vector<TopicPartition> List() const;
  // Closes the log and removes its directory and files.
  absl::Status Delete(const TopicPartition& tp);
  // Closes every log. Idempotent.
  absl::Status Close();

  const std::string& data_dir() const { return data_dir_; }
  // Directory entries Open did not treat as logs.
  const std::vector<std::string>& skipped_entries() const { return skipped_; }

 private:
  LogManager(std::string data_dir, const LogOptions& options)
      : data_dir_(std::move(data_dir)), options_(options) {}

  const std::string data_dir_;
  const LogOptions options_;
  std::vector<std::string> skipped_;
  mutable std::mutex mu_;
  std::map<TopicPartition, std::shared_ptr<Log>> logs_;
  bool closed_ = false;
};

}  // namespace varve
