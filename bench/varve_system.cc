// varve under test: one Log per partition (<dir>/bench-<p>, Kafka's directory layout, so
// `--keep` leaves something varve-dump reads), appended through the embedding API
// (Log::Append builds the RecordBatch v2: null key, the record as value) and scanned with a
// LogReader, which checks each batch's CRC32C and decodes every record.

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "bench/system.h"
#include "log/log.h"

namespace varve::bench {
namespace {

class VarveWriter final : public Writer {
 public:
  explicit VarveWriter(Log* log) : log_(log) {}

  absl::Status Append(absl::Span<const absl::string_view> records) override {
    records_.resize(records.size());
    for (size_t i = 0; i < records.size(); ++i) records_[i].value = records[i];
    return log_->Append(records_).status();
  }

 private:
  Log* const log_;
  std::vector<RecordToAppend> records_;  // reused: no allocation per batch
};

class VarveSystem final : public System {
 public:
  explicit VarveSystem(const SystemConfig& config) : config_(config) {}

  absl::Status Open() {
    LogOptions options;
    options.config.durability = config_.durability;
    // Room for the largest batch the flags allow: record_size bytes plus a few bytes of
    // varints per record, and the 61-byte batch header.
    const int64_t batch_bytes = config_.batch_records * (config_.record_size + 32) + 4096;
    options.config.max_message_bytes = static_cast<int32_t>(std::clamp<int64_t>(
        batch_bytes, options.config.max_message_bytes, std::numeric_limits<int32_t>::max()));
    options.io_backend = config_.io_backend;
    for (int p = 0; p < config_.partitions; ++p) {
      ASSIGN_OR_RETURN(std::unique_ptr<Log> log,
                       Log::Open(absl::StrCat(config_.dir, "/bench-", p), options));
      logs_.push_back(std::move(log));
    }
    return absl::OkStatus();
  }

  SystemKind kind() const override { return SystemKind::kVarve; }

  std::string Describe() const override {
    return absl::StrCat("io_backend=", IoBackendKindName(logs_.front()->io_backend()));
  }

  absl::StatusOr<std::unique_ptr<Writer>> NewWriter(int partition) override {
    return std::make_unique<VarveWriter>(logs_.at(partition).get());
  }

  // Every append was acknowledged as the mode requires; nothing is buffered.
  absl::Status FinishWrites() override { return absl::OkStatus(); }

  absl::StatusOr<int64_t> Scan(int partition, std::atomic<int64_t>* records_seen) override {
    const Log& log = *logs_.at(partition);
    LogReader reader = log.NewReader(log.start_offset());
    RecordView record;
    int64_t seen = 0;
    int64_t unreported = 0;
    while (reader.NextRecord(&record)) {
      if (!record.value || static_cast<int64_t>(record.value->size()) != config_.record_size) {
        return absl::DataLossError(absl::StrCat("record at offset ", record.offset, " of ",
                                                log.dir(), " is not ", config_.record_size,
                                                " bytes"));
      }
      ++seen;
      if (++unreported == 4096) {
        records_seen->fetch_add(unreported, std::memory_order_relaxed);
        unreported = 0;
      }
    }
    records_seen->fetch_add(unreported, std::memory_order_relaxed);
    RETURN_IF_ERROR(reader.status());
    return seen;
  }

  absl::Status Close() override {
    absl::Status status;
    for (const std::unique_ptr<Log>& log : logs_) status.Update(log->Close());
    logs_.clear();
    return status;
  }

 private:
  const SystemConfig config_;
  std::vector<std::unique_ptr<Log>> logs_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<System>> OpenVarveSystem(const SystemConfig& config) {
  auto system = std::make_unique<VarveSystem>(config);
  RETURN_IF_ERROR(system->Open());
  return system;
}

}  // namespace varve::bench
