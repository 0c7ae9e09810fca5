#include "index/mapped_index_file.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "index/index_format.h"

namespace varve {
namespace {

// The largest base offset for which base + any i32 relative offset still fits in an int64.
constexpr int64_t kMaxBaseOffset = INT64_MAX - INT32_MAX;

}  // namespace

MappedIndexFile::MappedIndexFile(const Format& format, int64_t base_offset)
    : format_(format), warm_entries_(8192 / format.entry_size), base_offset_(base_offset) {}

MappedIndexFile::~MappedIndexFile() = default;

absl::Status MappedIndexFile::OpenFile(FileSystem* fs, const std::string& path,
                                       int64_t max_index_bytes, bool writable) {
  fs_ = fs;
  path_ = path;
  if (base_offset_ < 0 || base_offset_ > kMaxBaseOffset) {
    return absl::InvalidArgumentError(
        absl::StrCat(format_.name, " ", path_, ": base offset ", base_offset_, " is out of range"));
  }
  // A read-only open must not change the directory, so only a writable one creates the file.
  ASSIGN_OR_RETURN(file_, fs_->Open(path_, writable ? OpenMode::kCreate : OpenMode::kReadOnly));
  file_writable_ = writable;
  ASSIGN_OR_RETURN(file_length_, file_->Size());
  opened_length_ = file_length_;
  if (file_length_ > kMaxMaxIndexBytes) {
    return absl::DataLossError(absl::StrCat("corrupt ", format_.name, " ", path_, ": ",
                                            file_length_, " bytes is longer than any index"));
  }
  const int count = static_cast<int>(file_length_ / format_.entry_size);
  entries_.store(count, std::memory_order_release);
  if (writable) return Preallocate(max_index_bytes);
  ASSIGN_OR_RETURN(region_, file_->Map(file_length_, /*writable=*/false));
  data_ = region_->data();
  max_entries_ = count;
  return absl::OkStatus();
}

absl::Status MappedIndexFile::Preallocate(int64_t max_index_bytes) {
  if (max_index_bytes < format_.entry_size || max_index_bytes > kMaxMaxIndexBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(format_.name, " ", path_, ": max_index_bytes ", max_index_bytes,
                     " is not in [", format_.entry_size, ", ", kMaxMaxIndexBytes, "]"));
  }
  // Never cut off entries: an index holding more than the new maximum simply stays full.
  const int64_t length = std::max(max_index_bytes - max_index_bytes % format_.entry_size,
                                  int64_t{entries()} * format_.entry_size);
  if (appendable_ && length == file_length_) return absl::OkStatus();
  // Appends stay off until the file and the mapping agree again: after a failure half-way the
  // mapping may extend past the end of the file.
  appendable_ = false;
  if (length != file_length_) {
    RETURN_IF_ERROR(file_->Truncate(length));
    file_length_ = length;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<MappedRegion> region, file_->Map(length, /*writable=*/true));
  region_ = std::move(region);
  data_ = region_->data();
  max_entries_ = static_cast<int>(length / format_.entry_size);
  appendable_ = true;
  return absl::OkStatus();
}

absl::Status MappedIndexFile::Trim() {
  const int64_t length = size_bytes();
  if (!file_writable_ || file_length_ == length) return absl::OkStatus();
  // The mapping stays as it is: readers never look past the entries, which are below `length`.
  RETURN_IF_ERROR(file_->Truncate(length));
  file_length_ = length;
  return absl::OkStatus();
}

absl::Status MappedIndexFile::CheckOpen() const {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(format_.name, " ", path_, " is closed"));
  }
  return absl::OkStatus();
}

void MappedIndexFile::TruncateTo(int64_t offset) {
  const int keep =
      LastEntryWhere(entries(), [&](const char* entry) { return OffsetOf(entry) < offset; }) + 1;
  entries_.store(keep, std::memory_order_release);
}

void MappedIndexFile::Reset() { entries_.store(0, std::memory_order_release); }

absl::Status MappedIndexFile::Seal() {
  RETURN_IF_ERROR(CheckOpen());
  RETURN_IF_ERROR(Trim());
  appendable_ = false;
  max_entries_ = static_cast<int>(file_length_ / format_.entry_size);
  return absl::OkStatus();
}

absl::Status MappedIndexFile::MakeWritable(int64_t max_index_bytes) {
  RETURN_IF_ERROR(CheckOpen());
  if (!file_writable_) {
    // The old mapping stays valid on its own, so replacing the descriptor is safe.
    ASSIGN_OR_RETURN(file_, fs_->Open(path_, OpenMode::kReadWrite));
    file_writable_ = true;
  }
  return Preallocate(max_index_bytes);
}

absl::Status MappedIndexFile::Flush() {
  RETURN_IF_ERROR(CheckOpen());
  if (!file_writable_) return absl::OkStatus();
  return file_->Sync();
}

absl::Status MappedIndexFile::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  absl::Status trimmed = Trim();
  entries_.store(0, std::memory_order_release);
  max_entries_ = 0;
  appendable_ = false;
  data_ = nullptr;
  region_.reset();
  file_.reset();
  return trimmed;
}

absl::Status MappedIndexFile::CheckRoom(int limit) const {
  RETURN_IF_ERROR(CheckOpen());
  if (!appendable_) {
    return absl::FailedPreconditionError(
        absl::StrCat(format_.name, " ", path_, " is sealed or read-only"));
  }
  assert(limit <= max_entries_);
  if (entries() >= limit) {
    return absl::FailedPreconditionError(
        absl::StrCat(format_.name, " ", path_, " is full (", entries(), " entries)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int32_t> MappedIndexFile::RelativeOffset(int64_t offset) const {
  int64_t relative;
  if (__builtin_sub_overflow(offset, base_offset_, &relative) || relative < 0 ||
      relative > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(format_.name, " ", path_, ": offset ", offset,
                                                   " is not within 2^31 - 1 above the base offset ",
                                                   base_offset_));
  }
  return static_cast<int32_t>(relative);
}

absl::Status MappedIndexFile::Corrupt(int entry, absl::string_view what) const {
  return absl::DataLossError(absl::StrCat("corrupt ", format_.name, " ", path_, ": entry ", entry,
                                          " (byte ", int64_t{entry} * format_.entry_size,
                                          "): ", what));
}

absl::Status MappedIndexFile::CheckLengthAndOffsets(bool offsets_strictly_increase) const {
  RETURN_IF_ERROR(CheckOpen());
  if (opened_length_ % format_.entry_size != 0) {
    return Corrupt(
        static_cast<int>(opened_length_ / format_.entry_size),
        absl::StrCat("the file is ", opened_length_, " bytes long, not a multiple of the ",
                     format_.entry_size, "-byte entry size; this entry is partial"));
  }
  const int n = entries();
  if (n == 0) return absl::OkStatus();
  const int64_t first = OffsetOf(EntryData(0));
  const int64_t last = OffsetOf(EntryData(n - 1));
  if (last < base_offset_) {
    return Corrupt(
        n - 1, absl::StrCat("the last offset ", last, " is below the base offset ", base_offset_));
  }
  if (first < base_offset_) {
    return Corrupt(
        0, absl::StrCat("the first offset ", first, " is below the base offset ", base_offset_));
  }
  if (last < first || (offsets_strictly_increase && n > 1 && last == first)) {
    return Corrupt(
        n - 1, absl::StrCat("the last offset ", last, " is not after the first offset ", first));
  }
  return absl::OkStatus();
}

}  // namespace varve
