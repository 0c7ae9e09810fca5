#include "index/offset_index.h"

#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "base/status_macros.h"

namespace varve {

OffsetIndex::OffsetIndex(int64_t base_offset)
    : MappedIndexFile({kEntrySize, kOffsetIndexRelativeOffsetAt, "offset index"}, base_offset) {}

absl::StatusOr<std::unique_ptr<OffsetIndex>> OffsetIndex::Open(FileSystem* fs,
                                                               const std::string& path,
                                                               int64_t base_offset,
                                                               int64_t max_index_bytes,
                                                               bool writable) {
  std::unique_ptr<OffsetIndex> index(new OffsetIndex(base_offset));
  RETURN_IF_ERROR(index->OpenFile(fs, path, max_index_bytes, writable));
  return index;
}

OffsetPosition OffsetIndex::Decode(const char* entry) const {
  return {OffsetOf(entry), static_cast<int32_t>(LoadBE32(entry + kOffsetIndexPositionAt))};
}

absl::Status OffsetIndex::SanityCheck() const {
  RETURN_IF_ERROR(CheckLengthAndOffsets(/*offsets_strictly_increase=*/true));
  const int n = entries();
  if (n == 0) return absl::OkStatus();
  const OffsetPosition first = EntryAt(0);
  const OffsetPosition last = EntryAt(n - 1);
  if (first.position < 0) {
    return Corrupt(0, absl::StrCat("the position ", first.position, " is negative"));
  }
  if (last.position < first.position) {
    return Corrupt(n - 1, absl::StrCat("the last position ", last.position,
                                       " is before the first position ", first.position));
  }
  return absl::OkStatus();
}

absl::Status OffsetIndex::Append(int64_t offset, int64_t position) {
  RETURN_IF_ERROR(CheckRoom(max_entries()));
  if (entries() > 0 && offset <= LastEntry().offset) {
    return absl::InvalidArgumentError(absl::StrCat("offset index ", path(), ": offset ", offset,
                                                   " is not above the last indexed offset ",
                                                   LastEntry().offset));
  }
  ASSIGN_OR_RETURN(const int32_t relative_offset, RelativeOffset(offset));
  if (position < 0 || position > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset index ", path(), ": position ", position, " is not in [0, 2^31 - 1]"));
  }
  char* entry = NextEntry();
  StoreBE32(entry + kOffsetIndexRelativeOffsetAt, static_cast<uint32_t>(relative_offset));
  StoreBE32(entry + kOffsetIndexPositionAt, static_cast<uint32_t>(position));
  PublishEntry();
  return absl::OkStatus();
}

OffsetPosition OffsetIndex::Lookup(int64_t target_offset) const {
  const int slot = LastEntryWhere(
      entries(), [&](const char* entry) { return OffsetOf(entry) <= target_offset; });
  if (slot < 0) return {base_offset(), 0};
  return Decode(EntryData(slot));
}

OffsetPosition OffsetIndex::EntryAt(int i) const {
  assert(i >= 0 && i < entries());
  return Decode(EntryData(i));
}

OffsetPosition OffsetIndex::LastEntry() const {
  const int n = entries();
  if (n == 0) return {base_offset(), 0};
  return Decode(EntryData(n - 1));
}

}  // namespace varve
