#include "index/time_index.h"

#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "base/status_macros.h"

namespace varve {

TimeIndex::TimeIndex(int64_t base_offset)
    : MappedIndexFile({kEntrySize, kTimeIndexRelativeOffsetAt, "time index"}, base_offset) {}

absl::StatusOr<std::unique_ptr<TimeIndex>> TimeIndex::Open(FileSystem* fs, const std::string& path,
                                                           int64_t base_offset,
                                                           int64_t max_index_bytes, bool writable) {
  std::unique_ptr<TimeIndex> index(new TimeIndex(base_offset));
  RETURN_IF_ERROR(index->OpenFile(fs, path, max_index_bytes, writable));
  return index;
}

TimestampOffset TimeIndex::Decode(const char* entry) const {
  return {static_cast<int64_t>(LoadBE64(entry + kTimeIndexTimestampAt)), OffsetOf(entry)};
}

absl::Status TimeIndex::SanityCheck() const {
  RETURN_IF_ERROR(CheckLengthAndOffsets(/*offsets_strictly_increase=*/false));
  const int n = entries();
  if (n == 0) return absl::OkStatus();
  const int64_t first = EntryAt(0).timestamp;
  const int64_t last = EntryAt(n - 1).timestamp;
  if (last < first) {
    return Corrupt(
        n - 1, absl::StrCat("the last timestamp ", last, " is below the first timestamp ", first));
  }
  return absl::OkStatus();
}

absl::Status TimeIndex::MaybeAppend(int64_t timestamp, int64_t offset, bool skip_full_check) {
  const TimestampOffset last = LastEntry();
  if (offset < last.offset) {
    return absl::InvalidArgumentError(absl::StrCat("time index ", path(), ": offset ", offset,
                                                   " is below the last indexed offset ",
                                                   last.offset));
  }
  ASSIGN_OR_RETURN(const int32_t relative_offset, RelativeOffset(offset));
  if (timestamp <= last.timestamp) return absl::OkStatus();
  RETURN_IF_ERROR(CheckRoom(skip_full_check ? max_entries() : max_entries() - 1));
  char* entry = NextEntry();
  StoreBE64(entry + kTimeIndexTimestampAt, static_cast<uint64_t>(timestamp));
  StoreBE32(entry + kTimeIndexRelativeOffsetAt, static_cast<uint32_t>(relative_offset));
  PublishEntry();
  return absl::OkStatus();
}

TimestampOffset TimeIndex::Lookup(int64_t target_timestamp) const {
  const int slot = LastEntryWhere(entries(), [&](const char* entry) {
    return static_cast<int64_t>(LoadBE64(entry + kTimeIndexTimestampAt)) <= target_timestamp;
  });
  if (slot < 0) return {kNoTimestamp, base_offset()};
  return Decode(EntryData(slot));
}

TimestampOffset TimeIndex::EntryAt(int i) const {
  assert(i >= 0 && i < entries());
  return Decode(EntryData(i));
}

TimestampOffset TimeIndex::LastEntry() const {
  const int n = entries();
  if (n == 0) return {kNoTimestamp, base_offset()};
  return Decode(EntryData(n - 1));
}

}  // namespace varve
