#include "log/log_manager.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace varve {

namespace {
constexpr size_t kMaxTopicLength = 249;
}  // namespace

std::string TopicPartition::DirName() const { return absl::StrCat(topic, "-", partition); }

absl::Status ValidateTopicName(absl::string_view topic) {
  if (topic.empty()) return absl::InvalidArgumentError("topic name is empty");
  if (topic == "." || topic == "..") {
    return absl::InvalidArgumentError(absl::StrCat("topic name \"", topic, "\" is not allowed"));
  }
  if (topic.size() > kMaxTopicLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "topic name is ", topic.size(), " characters long; the limit is ", kMaxTopicLength));
  }
  for (size_t i = 0; i < topic.size(); ++i) {
    const char c = topic[i];
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("topic name \"", absl::CHexEscape(topic), "\" has an illegal character '",
                       absl::CHexEscape(absl::string_view(&c, 1)), "' at index ", i,
                       "; legal characters are [a-zA-Z0-9._-]"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TopicPartition> ParseTopicPartitionDir(absl::string_view name) {
  const size_t dash = name.rfind('-');
  if (dash == absl::string_view::npos || dash == 0 || dash + 1 == name.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", name, "\" is not a <topic>-<partition> directory name"));
  }
  TopicPartition tp;
  tp.topic = std::string(name.substr(0, dash));
  absl::string_view digits = name.substr(dash + 1);
  for (char c : digits) {
    if (!absl::ascii_isdigit(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", name, "\": partition \"", digits, "\" is not a number"));
    }
  }
  if (!absl::SimpleAtoi(digits, &tp.partition)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\": partition out of range"));
  }
  RETURN_IF_ERROR(ValidateTopicName(tp.topic));
  return tp;
}

absl::StatusOr<std::unique_ptr<LogManager>> LogManager::Open(const std::string& data_dir,
                                                             const LogOptions& options) {
  return Open(data_dir, options, nullptr);
}

absl::StatusOr<std::unique_ptr<LogManager>> LogManager::Open(const std::string& data_dir,
                                                             const LogOptions& options,
                                                             const ConfigResolver& config_for) {
  RETURN_IF_ERROR(options.config.Validate());
  std::unique_ptr<LogManager> manager(new LogManager(data_dir, options));
  FileSystem* fs = options.fs;
  RETURN_IF_ERROR(fs->CreateDir(data_dir));
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(data_dir));
  std::lock_guard lock(manager->mu_);
  for (const std::string& name : names) {
    const std::string path = JoinPath(data_dir, name);
    ASSIGN_OR_RETURN(bool is_dir, fs->IsDirectory(path));
    absl::StatusOr<TopicPartition> tp = ParseTopicPartitionDir(name);
    if (!is_dir || !tp.ok() || absl::EndsWith(name, "-delete")) {
      manager->skipped_.push_back(name);
      continue;
    }
    LogOptions log_options = options;
    if (config_for) {
      absl::StatusOr<LogConfig> config = config_for(*tp);
      if (!config.ok()) {
        return absl::Status(config.status().code(),
                            absl::StrCat("config for log ", path, ": ", config.status().message()));
      }
      log_options.config = *config;
    }
    absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(path, log_options);
    if (!log.ok()) {
      return absl::Status(log.status().code(),
                          absl::StrCat("opening log ", path, ": ", log.status().message()));
    }
    manager->logs_.emplace(*tp, std::move(*log));
  }
  return manager;
}

LogManager::~LogManager() { Close().IgnoreError(); }

absl::StatusOr<std::shared_ptr<Log>> LogManager::GetOrCreate(const TopicPartition& tp) {
  return GetOrCreate(tp, options_.config);
}

absl::StatusOr<std::shared_ptr<Log>> LogManager::GetOrCreate(const TopicPartition& tp,
                                                             const LogConfig& config) {
  RETURN_IF_ERROR(ValidateTopicName(tp.topic));
  if (tp.partition < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition ", tp.partition, " of topic ", tp.topic, " is negative"));
  }
  std::lock_guard lock(mu_);
  if (closed_) return absl::FailedPreconditionError("log manager is closed");
  auto it = logs_.find(tp);
  if (it != logs_.end()) return it->second;
  LogOptions options = options_;
  options.config = config;
  ASSIGN_OR_RETURN(std::unique_ptr<Log> log, Log::Open(JoinPath(data_dir_, tp.DirName()), options));
  RETURN_IF_ERROR(options_.fs->SyncDir(data_dir_));
  std::shared_ptr<Log> shared = std::move(log);
  logs_.emplace(tp, shared);
  return shared;
}

absl::StatusOr<std::shared_ptr<Log>> LogManager::Get(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  auto it = logs_.find(tp);
  if (it == logs_.end()) {
    return absl::NotFoundError(absl::StrCat("no log for ", tp.DirName(), " in ", data_dir_));
  }
  return it->second;
}

std::vector<TopicPartition> LogManager::List() const {
  std::lock_guard lock(mu_);
  std::vector<TopicPartition> out;
  for (const auto& [tp, log] : logs_) out.push_back(tp);
  return out;
}

absl::Status LogManager::Delete(const TopicPartition& tp) {
  std::shared_ptr<Log> log;
  {
    std::lock_guard lock(mu_);
    auto it = logs_.find(tp);
    if (it == logs_.end()) {
      return absl::NotFoundError(absl::StrCat("no log for ", tp.DirName(), " in ", data_dir_));
    }
    log = std::move(it->second);
    logs_.erase(it);
  }
  RETURN_IF_ERROR(log->Close());
  FileSystem* fs = options_.fs;
  const std::string dir = log->dir();
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  for (const std::string& name : names) RETURN_IF_ERROR(fs->Remove(JoinPath(dir, name)));
  RETURN_IF_ERROR(fs->RemoveDir(dir));
  return fs->SyncDir(data_dir_);
}

absl::Status LogManager::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  absl::Status status;
  for (auto& [tp, log] : logs_) status.Update(log->Close());
  return status;
}

}  // namespace varve
