#include "tools/segment_scanner.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "base/status_macros.h"
#include "log/batch_validator.h"

namespace varve::dump {
namespace {

// Reading applies no size policy: max.message.bytes is for what producers send.
constexpr int64_t kNoSizeLimit = std::numeric_limits<int64_t>::max();
constexpr int64_t kResyncBudgetSlack = int64_t{64} << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<ReadOnlyFile>> ReadOnlyFile::Open(FileSystem* fs,
                                                                 const std::string& path,
                                                                 int64_t chunk_bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs->Open(path, OpenMode::kReadOnly));
  ASSIGN_OR_RETURN(int64_t size, file->Size());
  return std::unique_ptr<ReadOnlyFile>(
      new ReadOnlyFile(std::move(file), size, std::max<int64_t>(chunk_bytes, kBatchHeaderSize)));
}

absl::StatusOr<absl::string_view> ReadOnlyFile::Read(int64_t position, int64_t length,
                                                     bool read_ahead) {
  if (position < 0 || length < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("read of ", length, " bytes at byte ", position, " of ", path()));
  }
  if (position >= size_) return absl::string_view();
  length = std::min(length, size_ - position);
  const int64_t buffered = static_cast<int64_t>(buffer_.size());
  if (position >= buffer_position_ && position - buffer_position_ + length <= buffered) {
    return absl::string_view(buffer_.data() + (position - buffer_position_),
                             static_cast<size_t>(length));
  }
  const int64_t want =
      read_ahead ? std::min(std::max(length, chunk_bytes_), size_ - position) : length;
  // Give back the memory of a huge batch once reads are small again.
  if (static_cast<int64_t>(buffer_.capacity()) > 4 * chunk_bytes_ && want <= chunk_bytes_) {
    std::string().swap(buffer_);
  }
  buffer_.resize(static_cast<size_t>(want));
  buffer_position_ = position;
  absl::StatusOr<size_t> n = file_->Read(position, absl::MakeSpan(buffer_));
  if (!n.ok()) {
    buffer_.clear();
    return n.status();
  }
  buffer_.resize(*n);
  if (static_cast<int64_t>(*n) < length) {
    return absl::DataLossError(absl::StrCat("short read of ", path(), " at byte ", position,
                                            ": wanted ", length, " bytes, got ", *n,
                                            " (the file shrank while being read)"));
  }
  return absl::string_view(buffer_.data(), static_cast<size_t>(length));
}

absl::StatusOr<std::optional<BatchHeader>> ReadBatchHeaderAt(ReadOnlyFile* file, int64_t position) {
  if (position < 0 || file->size() - position < kBatchHeaderSize) return std::nullopt;
  ASSIGN_OR_RETURN(absl::string_view head, file->Read(position, kBatchHeaderSize));
  const BatchHeader header = DecodeBatchHeader(head.data());
  if (header.size_bytes() < kBatchHeaderSize || header.size_bytes() > file->size() - position ||
      header.magic != kMagicV2) {
    return std::nullopt;
  }
  return header;
}

BatchScanner::BatchScanner(ReadOnlyFile* file, int64_t start, std::optional<int64_t> segment_base)
    : file_(file),
      position_(start),
      expected_offset_(start == 0 ? segment_base : std::nullopt),
      resync_budget_(2 * file->size() + kResyncBudgetSlack) {}

absl::Status BatchScanner::CheckBaseOffset(int64_t next, ScannedBatch* out,
                                           std::vector<Problem>* problems) {
  BatchHeader& h = out->header;
  const std::optional<int64_t> expected = expected_offset_;
  expected_offset_ = WrappingAdd(h.last_offset(), 1);
  if (!expected || h.base_offset == *expected || h.last_offset_delta < 0) {
    return absl::OkStatus();
  }
  stable_.assign(out->bytes.data(), out->bytes.size());
  out->bytes = stable_;
  ASSIGN_OR_RETURN(std::optional<BatchHeader> following, ReadBatchHeaderAt(file_, next));
  const int64_t implied_next = WrappingAdd(*expected, int64_t{h.last_offset_delta} + 1);
  if (!following || following->base_offset != implied_next) return absl::OkStatus();
  problems->push_back(
      {file_->path(), out->position, "bad_base_offset",
       absl::StrCat("BaseOffset ", h.base_offset, " but the batches around it put it at ",
                    *expected, " (BaseOffset is not covered by the CRC); read as ", *expected)});
  out->stored_base_offset = h.base_offset;
  h.base_offset = *expected;
  expected_offset_ = implied_next;
  return absl::OkStatus();
}

absl::StatusOr<bool> BatchScanner::SoundBatchAt(int64_t position, bool verify_crc) {
  const int64_t left = file_->size() - position;
  if (left < kBatchHeaderSize) return false;
  ASSIGN_OR_RETURN(absl::string_view head, file_->Read(position, kLogOverhead));
  const int64_t size =
      kLogOverhead + int64_t{static_cast<int32_t>(LoadBE32(head.data() + kBatchLengthPos))};
  if (size < kBatchHeaderSize || size > left) return false;
  ASSIGN_OR_RETURN(absl::string_view bytes, file_->Read(position, size));
  BatchHeader header;
  const BatchCheck check = CheckBatchFrame(bytes, position, kNoSizeLimit, verify_crc, &header);
  return check.ok();
}

absl::StatusOr<int64_t> BatchScanner::Resync(int64_t from, int64_t limit, bool* gave_up) {
  const int64_t end = file_->size();
  int64_t q = from;
  while (end - q >= kBatchHeaderSize && q < limit) {
    ASSIGN_OR_RETURN(absl::string_view window, file_->Read(q, kBatchHeaderSize + (1 << 16)));
    // Candidates are the positions whose whole header is in the window: look for their magic.
    const size_t candidates = window.size() - kBatchHeaderSize + 1;
    const void* hit = std::memchr(window.data() + kMagicPos, kMagicV2, candidates);
    if (hit == nullptr) {
      q += static_cast<int64_t>(candidates);
      continue;
    }
    const size_t at =
        static_cast<size_t>(static_cast<const char*>(hit) - (window.data() + kMagicPos));
    q += static_cast<int64_t>(at);
    if (q >= limit) break;
    const int64_t size =
        kLogOverhead +
        int64_t{static_cast<int32_t>(LoadBE32(window.data() + at + kBatchLengthPos))};
    if (size >= kBatchHeaderSize && size <= end - q) {
      resync_budget_ -= size;
      if (resync_budget_ < 0) {
        *gave_up = true;
        return limit;
      }
      ASSIGN_OR_RETURN(bool sound, SoundBatchAt(q, /*verify_crc=*/true));
      if (sound) return q;
    }
    ++q;
  }
  return limit;
}

absl::StatusOr<bool> BatchScanner::AllZero(int64_t from, int64_t to) {
  for (int64_t at = from; at < to;) {
    ASSIGN_OR_RETURN(absl::string_view chunk, file_->Read(at, std::min<int64_t>(to - at, 1 << 16)));
    if (chunk.empty()) break;
    if (std::any_of(chunk.begin(), chunk.end(), [](char c) { return c != 0; })) return false;
    at += static_cast<int64_t>(chunk.size());
  }
  return true;
}

absl::Status BatchScanner::ReportUnframed(const std::string& rule, const std::string& detail,
                                          bool cut_off_batch, std::vector<Problem>* problems) {
  const int64_t end = file_->size();
  bool gave_up = false;
  ASSIGN_OR_RETURN(int64_t next, Resync(position_ + 1, end, &gave_up));
  Problem problem{file_->path(), position_, rule, detail};
  if (gave_up) {
    absl::StrAppend(&problem.detail, "; gave up looking for a valid batch after it");
  } else if (next < end) {
    absl::StrAppend(&problem.detail, "; skipped ", next - position_,
                    " bytes to the next valid batch at byte ", next);
  } else {
    ASSIGN_OR_RETURN(bool zeros, AllZero(position_, end));
    if (zeros) {
      problem.rule = "torn_tail";
      problem.detail = absl::StrCat(end - position_,
                                    " zero bytes to the end of the file (a preallocated or "
                                    "torn tail)");
    } else if (cut_off_batch) {
      problem.rule = "torn_tail";
      problem.detail = absl::StrCat(rule, ": ", detail);
    } else {
      absl::StrAppend(&problem.detail, "; no valid batch in the ", end - position_,
                      " bytes to the end of the file");
    }
  }
  problems->push_back(std::move(problem));
  position_ = next;
  expected_offset_.reset();
  return absl::OkStatus();
}

bool BatchScanner::Next(ScannedBatch* out, std::vector<Problem>* problems) {
  const int64_t end = file_->size();
  while (status_.ok() && position_ < end) {
    absl::StatusOr<absl::string_view> head = file_->Read(position_, kLogOverhead);
    if (!head.ok()) {
      status_ = head.status();
      return false;
    }
    int64_t size = kLogOverhead;
    if (head->size() == static_cast<size_t>(kLogOverhead)) {
      size += int64_t{static_cast<int32_t>(LoadBE32(head->data() + kBatchLengthPos))};
    }
    const int64_t left = end - position_;
    if (size >= kBatchHeaderSize && size > left) {  // do not read the rest of the file for this
      status_ = ReportUnframed(BatchRuleName(BatchRule::kLengthBeyondBuffer),
                               absl::StrCat("BatchLength ", size - kLogOverhead, " makes a ", size,
                                            "-byte batch, only ", left, " bytes left"),
                               /*cut_off_batch=*/true, problems);
      continue;
    }
    absl::StatusOr<absl::string_view> bytes =
        file_->Read(position_, std::max<int64_t>(size, kLogOverhead));
    if (!bytes.ok()) {
      status_ = bytes.status();
      return false;
    }
    BatchHeader header;
    const BatchCheck check = CheckBatchFrame(*bytes, position_, kNoSizeLimit,
                                             /*verify_crc=*/false, &header);
    if (!check.ok()) {
      std::string detail = check.detail;
      if (check.position != position_) {
        detail = absl::StrCat(detail, " (byte ", check.position, ")");
      }
      const bool cut_off =
          check.rule == BatchRule::kLengthBeyondBuffer || check.rule == BatchRule::kTruncatedHeader;
      status_ = ReportUnframed(BatchRuleName(check.rule), detail, cut_off, problems);
      continue;
    }
    const uint32_t computed = ComputeBatchCrc(*bytes);
    const int64_t start = position_;
    int64_t next = start + size;
    if (computed != header.crc) {
      Problem problem{file_->path(), start, BatchRuleName(BatchRule::kCrcMismatch),
                      absl::StrCat("stored crc 0x", absl::Hex(header.crc, absl::kZeroPad8),
                                   ", computed 0x", absl::Hex(computed, absl::kZeroPad8))};
      // A corrupt BatchLength breaks the CRC too. If no batch starts where this one says it
      // ends but one starts before that, the length is what is wrong: resume there.
      absl::StatusOr<bool> next_sound =
          next == end ? true : SoundBatchAt(next, /*verify_crc=*/false);
      bool gave_up = false;
      absl::StatusOr<int64_t> resync = next;
      if (next_sound.ok() && !*next_sound) resync = Resync(start + 1, next, &gave_up);
      if (!next_sound.ok() || !resync.ok()) {
        status_ = next_sound.ok() ? resync.status() : next_sound.status();
        return false;
      }
      if (*resync < next) {
        absl::StrAppend(&problem.detail, "; no batch starts where its BatchLength ends (byte ",
                        next, ") but one starts at byte ", *resync);
        next = *resync;
      }
      problems->push_back(std::move(problem));
      // The checks above may have moved the read buffer: read the batch again.
      bytes = file_->Read(start, size);
      if (!bytes.ok()) {
        status_ = bytes.status();
        return false;
      }
    }
    out->header = header;
    out->position = start;
    out->bytes = *bytes;
    out->crc_valid = computed == header.crc;
    out->stored_base_offset.reset();
    if (next != start + size) {
      expected_offset_.reset();  // resumed elsewhere: the sequence is lost
    } else if (absl::Status s = CheckBaseOffset(next, out, problems); !s.ok()) {
      status_ = s;
      return false;
    }
    position_ = next;
    return true;
  }
  return false;
}

}  // namespace varve::dump
