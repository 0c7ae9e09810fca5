// Embedding varve: append records to a log and read them back.
#include <cstdio>
#include <string>

#include "log/log_manager.h"

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
  return 1;
}

int main(int argc, char** argv) {
  const std::string data_dir = argc > 1 ? argv[1] : "varve-data";
  varve::LogOptions options;  // Kafka's defaults: 1 GiB segments, 4 KiB index interval, ...
  auto logs = varve::LogManager::Open(data_dir, options);
  if (!logs.ok()) return Fail(logs.status());
  auto log = (*logs)->GetOrCreate({"demo", 0});  // the directory <data_dir>/demo-0
  if (!log.ok()) return Fail(log.status());

  varve::RecordToAppend records[] = {{.key = "user-1", .value = "signed up"},
                                     {.key = "user-1", .value = "paid"},
                                     {.key = std::nullopt, .value = "no key"}};
  auto appended = (*log)->Append(records);  // one RecordBatch v2; the log assigns offsets
  if (!appended.ok()) return Fail(appended.status());
  std::printf("appended offsets %ld..%ld\n", appended->base_offset, appended->last_offset);

  varve::LogReader reader = (*log)->NewReader(appended->base_offset);
  varve::RecordView record;
  while (reader.NextRecord(&record)) {
    std::printf("offset %ld key=%s value=%s\n", record.offset,
                std::string(record.key.value_or("(null)")).c_str(),
                std::string(record.value.value_or("(null)")).c_str());
  }
  if (!reader.status().ok()) return Fail(reader.status());
  absl::Status closed = (*logs)->Close();
  return closed.ok() ? 0 : Fail(closed);
}
