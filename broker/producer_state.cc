#include "broker/producer_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/endian.h"
#include "base/file.h"
#include "base/status_macros.h"
#include "log/crc32c.h"

namespace varve::broker {
namespace {

constexpr int16_t kSnapshotVersion = 1;
constexpr size_t kSnapshotHeader = 2 + 4 + 4;  // version, crc, count
constexpr size_t kEntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

// Sequence numbers wrap from INT32_MAX to 0 (reference §1.4).
int32_t NextSequence(int32_t seq) {
  return seq == std::numeric_limits<int32_t>::max() ? 0 : seq + 1;
}

int32_t LastSequence(const BatchHeader& b) {
  const int64_t last = int64_t{b.base_sequence} + b.last_offset_delta;
  return static_cast<int32_t>(last > std::numeric_limits<int32_t>::max()
                                  ? last - std::numeric_limits<int32_t>::max() - 1
                                  : last);
}

}  // namespace

ProducerStateTable::Verdict ProducerStateTable::Check(const BatchHeader& b) const {
  Verdict v;
  if (b.producer_id < 0) return v;
  auto it = producers_.find(b.producer_id);
  if (it == producers_.end()) return v;  // unknown producer: any sequence (reference §1.4)
  const Producer& p = it->second;
  if (b.producer_epoch < p.epoch) {
    v.kind = Verdict::kInvalidEpoch;
    v.detail = absl::StrCat("producer ", b.producer_id, " epoch ", b.producer_epoch,
                            " is older than the current epoch ", p.epoch);
    return v;
  }
  if (b.producer_epoch > p.epoch) {
    if (b.base_sequence != 0) {
      v.kind = Verdict::kOutOfOrder;
      v.detail = absl::StrCat("producer ", b.producer_id, " new epoch ", b.producer_epoch,
                              " must start at sequence 0, not ", b.base_sequence);
    }
    return v;
  }
  const int32_t last_seq = LastSequence(b);
  for (const BatchMeta& m : p.batches) {
    if (m.first_seq == b.base_sequence && m.last_seq == last_seq) {
      v.kind = Verdict::kDuplicate;
      v.base_offset = m.first_offset;
      v.last_offset = m.last_offset;
      return v;
    }
  }
  if (!p.batches.empty() && b.base_sequence != NextSequence(p.batches.back().last_seq)) {
    v.kind = Verdict::kOutOfOrder;
    v.detail = absl::StrCat("producer ", b.producer_id, " sent sequence ", b.base_sequence,
                            ", expected ", NextSequence(p.batches.back().last_seq));
  }
  return v;
}

int ProducerStateTable::RemoveExpired(int64_t now_ms, int64_t expiration_ms) {
  return static_cast<int>(std::erase_if(producers_, [&](const auto& entry) {
    const Producer& p = entry.second;
    return p.batches.empty() || now_ms - p.batches.back().max_timestamp >= expiration_ms;
  }));
}

int ProducerStateTable::RemoveBelow(int64_t log_start_offset) {
  return static_cast<int>(std::erase_if(producers_, [&](const auto& entry) {
    const Producer& p = entry.second;
    return p.batches.empty() || p.batches.back().last_offset < log_start_offset;
  }));
}

void ProducerStateTable::Record(const BatchHeader& b) {
  if (b.producer_id < 0) return;
  Producer& p = producers_[b.producer_id];
  if (b.producer_epoch != p.epoch) p.batches.clear();
  p.epoch = b.producer_epoch;
  p.batches.push_back(
      {b.base_sequence, LastSequence(b), b.base_offset, b.last_offset(), b.max_timestamp});
  while (p.batches.size() > kBatchesToRetain) p.batches.pop_front();
}

std::string ProducerStateTable::EncodeSnapshot() const {
  std::vector<std::pair<int64_t, const Producer*>> sorted;
  for (const auto& [pid, p] : producers_) {
    if (!p.batches.empty()) sorted.emplace_back(pid, &p);
  }
  std::sort(sorted.begin(), sorted.end());
  std::string out(kSnapshotHeader + sorted.size() * kEntrySize, '\0');
  char* w = out.data();
  StoreBE16(w, kSnapshotVersion);
  StoreBE32(w + 6, static_cast<uint32_t>(sorted.size()));
  char* e = w + kSnapshotHeader;
  for (const auto& [pid, p] : sorted) {
    const BatchMeta& last = p->batches.back();
    StoreBE64(e, pid);
    StoreBE16(e + 8, p->epoch);
    StoreBE32(e + 10, last.last_seq);
    StoreBE64(e + 14, last.last_offset);
    StoreBE32(e + 22, static_cast<uint32_t>(last.last_offset - last.first_offset));
    StoreBE64(e + 26, last.max_timestamp);
    StoreBE32(e + 34, static_cast<uint32_t>(-1));  // coordinator epoch: no transactions
    StoreBE64(e + 38, static_cast<uint64_t>(-1));  // current txn first offset: none
    e += kEntrySize;
  }
  StoreBE32(w + 2, Crc32c(out.data() + 6, out.size() - 6));
  return out;
}

absl::Status ProducerStateTable::LoadSnapshot(absl::string_view bytes, absl::string_view path) {
  auto bad = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("producer snapshot ", path, ": ", why));
  };
  if (bytes.size() < kSnapshotHeader) return bad("shorter than its header");
  const int16_t version = static_cast<int16_t>(LoadBE16(bytes.data()));
  if (version != kSnapshotVersion) return bad(absl::StrCat("unknown version ", version));
  const uint32_t crc = LoadBE32(bytes.data() + 2);
  if (Crc32c(bytes.data() + 6, bytes.size() - 6) != crc) return bad("crc mismatch");
  const uint32_t count = LoadBE32(bytes.data() + 6);
  if (bytes.size() != kSnapshotHeader + size_t{count} * kEntrySize) {
    return bad(absl::StrCat(count, " entries do not match its ", bytes.size(), " bytes"));
  }
  producers_.clear();
  const char* e = bytes.data() + kSnapshotHeader;
  for (uint32_t i = 0; i < count; ++i, e += kEntrySize) {
    Producer& p = producers_[static_cast<int64_t>(LoadBE64(e))];
    p.epoch = static_cast<int16_t>(LoadBE16(e + 8));
    BatchMeta m;
    m.last_seq = static_cast<int32_t>(LoadBE32(e + 10));
    m.last_offset = static_cast<int64_t>(LoadBE64(e + 14));
    const int32_t delta = static_cast<int32_t>(LoadBE32(e + 22));
    m.first_offset = m.last_offset - delta;
    m.first_seq = m.last_seq - delta;
    if (m.first_seq < 0) m.first_seq += std::numeric_limits<int32_t>::max() + 1LL;
    m.max_timestamp = static_cast<int64_t>(LoadBE64(e + 26));
    p.batches.push_back(m);
  }
  return absl::OkStatus();
}

std::string ProducerSnapshotPath(const std::string& dir, int64_t offset) {
  return JoinPath(dir, absl::StrFormat("%020d.snapshot", offset));
}

namespace {

// Snapshot offsets in `dir`, ascending.
std::vector<int64_t> ListSnapshots(const std::string& dir) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 29 || name.substr(20) != ".snapshot") continue;
    int64_t offset = 0;
    bool digits = true;
    for (int i = 0; i < 20; ++i) {
      if (name[i] < '0' || name[i] > '9') digits = false;
      offset = offset * 10 + (name[i] - '0');
    }
    if (digits) out.push_back(offset);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::string> ReadWholeFile(FileSystem* fs, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs->Open(path, OpenMode::kReadOnly));
  ASSIGN_OR_RETURN(int64_t size, f->Size());
  if (size > (64 << 20)) {
    return absl::DataLossError(absl::StrCat("producer snapshot ", path, " is ", size, " bytes"));
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  RETURN_IF_ERROR(f->ReadExact(0, absl::MakeSpan(bytes)));
  return bytes;
}

}  // namespace

absl::Status WriteProducerSnapshot(const std::string& dir, int64_t offset,
                                   const ProducerStateTable& table) {
  return WriteProducerSnapshotBytes(dir, offset, table.EncodeSnapshot());
}

absl::Status WriteProducerSnapshotBytes(const std::string& dir, int64_t offset,
                                        const std::string& bytes) {
  // Snapshots of one partition can be written by the flusher (at a roll) and by Close at the
  // same moment, possibly for the same offset: one at a time (they are rare and small).
  static std::mutex* const writing = new std::mutex;
  std::lock_guard lock(*writing);
  FileSystem* fs = PosixFileSystem();
  const std::string path = ProducerSnapshotPath(dir, offset);
  const std::string tmp = path + ".tmp";
  {
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs->Open(tmp, OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->Write(0, bytes));
    RETURN_IF_ERROR(f->Sync());
  }
  RETURN_IF_ERROR(fs->Rename(tmp, path));
  RETURN_IF_ERROR(fs->SyncDir(dir));
  std::vector<int64_t> all = ListSnapshots(dir);
  // Keep this one and the newest older one.
  int kept_older = 0;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (*it >= offset) continue;
    if (kept_older++ < 1) continue;
    absl::Status removed = fs->Remove(ProducerSnapshotPath(dir, *it));
    if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
  }
  return absl::OkStatus();
}

absl::StatusOr<ProducerStateTable> RecoverProducerState(const Log& log, std::string* notes) {
  FileSystem* fs = PosixFileSystem();
  ProducerStateTable table;
  int64_t replay_from = log.start_offset();
  std::vector<int64_t> snapshots = ListSnapshots(log.dir());
  for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
    const std::string path = ProducerSnapshotPath(log.dir(), *it);
    if (*it > log.end_offset()) {
      RETURN_IF_ERROR(fs->Remove(path));
      continue;
    }
    absl::StatusOr<std::string> bytes = ReadWholeFile(fs, path);
    absl::Status loaded = bytes.ok() ? table.LoadSnapshot(*bytes, path) : bytes.status();
    if (loaded.ok()) {
      replay_from = std::max(*it, log.start_offset());
      break;
    }
    absl::StrAppend(notes, loaded.message(), "; ");
    table = ProducerStateTable();
  }
  LogReader reader = log.NewReader(replay_from);
  BatchView batch;
  while (reader.NextBatch(&batch)) {
    if (batch.header.last_offset() < replay_from) continue;
    table.Record(batch.header);
  }
  if (!reader.status().ok()) {
    return absl::Status(reader.status().code(),
                        absl::StrCat("replaying producer state of ", log.dir(), " from offset ",
                                     replay_from, ": ", reader.status().message()));
  }
  return table;
}

}  // namespace varve::broker
