#pragma once

// Read-only access to segment files for varve-dump, and the batch walk over a `.log` file
// that survives corruption: where the bytes do not frame a batch it reports one problem and
// resumes at the next position where a whole batch with a valid CRC starts, so one bad byte
// costs one batch, not the rest of the segment.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyFile> file, ReadOnlyFile::Open(fs, path, 1 << 20));
//   BatchScanner scanner(file.get(), /*start=*/0);
//   ScannedBatch batch;
//   std::vector<Problem> problems;
//   while (scanner.Next(&batch, &problems)) Print(batch);   // problems: framing, CRC
//   RETURN_IF_ERROR(scanner.status());                      // I/O errors only
//
// Files are opened read-only through the FileSystem seam and read with positional reads (no
// mapping: a file that shrinks underneath is a short read, reported, not a SIGBUS). Every
// length read from the file is checked against the file's size before it is used. One thread
// at a time; views returned are valid until the next call on the same object.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/file.h"
#include "log/record_batch.h"
#include "tools/dump_output.h"

namespace varve::dump {

// A file opened read-only, read through a read-ahead buffer of `chunk_bytes`.
class ReadOnlyFile {
 public:
  static absl::StatusOr<std::unique_ptr<ReadOnlyFile>> Open(FileSystem* fs, const std::string& path,
                                                            int64_t chunk_bytes);

  const std::string& path() const { return file_->path(); }
  // The size when opened: reads never go past it.
  int64_t size() const { return size_; }

  // Bytes [position, position + length), clipped to size(). Valid until the next Read.
  // Reads `chunk_bytes` ahead unless `read_ahead` is false (random probes of an index).
  // DataLoss if the file ended early (it shrank while open); I/O errors as the FileSystem
  // reports them.
  absl::StatusOr<absl::string_view> Read(int64_t position, int64_t length, bool read_ahead = true);

 private:
  ReadOnlyFile(std::unique_ptr<File> file, int64_t size, int64_t chunk_bytes)
      : file_(std::move(file)), size_(size), chunk_bytes_(chunk_bytes) {}

  std::unique_ptr<File> file_;
  const int64_t size_;
  const int64_t chunk_bytes_;
  std::string buffer_;
  int64_t buffer_position_ = 0;
};

// One batch as found in the file.
struct ScannedBatch {
  BatchHeader header;  // as stored, except a BaseOffset the scanner corrected (below)
  int64_t position = 0;
  absl::string_view bytes;  // the whole batch, as stored
  bool crc_valid = false;
  // Set when the stored BaseOffset (which the CRC does not cover) was wrong and header holds
  // the one its neighbors imply: the stored value.
  std::optional<int64_t> stored_base_offset;
};

// The header of the batch at `position` if its framing is sound there (the batch fits in the
// file, magic 2); its CRC is not checked and only the header is read. nullopt otherwise.
absl::StatusOr<std::optional<BatchHeader>> ReadBatchHeaderAt(ReadOnlyFile* file, int64_t position);

// Walks the batches of a `.log` file from a batch start to the end of the file.
class BatchScanner {
 public:
  // `segment_base`: the segment's base offset (from its name), if known, which the first batch
  // of the file should start at.
  BatchScanner(ReadOnlyFile* file, int64_t start,
               std::optional<int64_t> segment_base = std::nullopt);

  // The next batch whose framing is sound (its length fits the file, magic 2), with
  // crc_valid false (and a crc_mismatch problem) if its CRC does not match. Bytes that do not
  // frame a batch become one problem, at the byte where they start, and are skipped up to the
  // next sound batch with a valid CRC; when none follows, the rule is torn_tail if the bytes are
  // a cut-off batch or zeros. Returns false at the end of the file or on a read error.
  //
  // BaseOffset lies outside the CRC, so a damaged one would otherwise only show as offsets out
  // of order around it (and index entries that no longer match). When a batch's BaseOffset
  // breaks the sequence but the batch after it continues the sequence exactly as if it had
  // not, that BaseOffset is reported (bad_base_offset) and corrected in `header`.
  bool Next(ScannedBatch* out, std::vector<Problem>* problems);
  // Ok, or the read error that stopped the walk.
  const absl::Status& status() const { return status_; }
  // Where the next batch would start.
  int64_t position() const { return position_; }

 private:
  // Whether a sound batch starts at `position` (read whole; its CRC checked when verify_crc).
  absl::StatusOr<bool> SoundBatchAt(int64_t position, bool verify_crc);
  // The first position in [from, limit) where a sound batch with a valid CRC starts, or `limit`
  // (at most the file size) if none does or the search gave up (*gave_up).
  absl::StatusOr<int64_t> Resync(int64_t from, int64_t limit, bool* gave_up);
  absl::StatusOr<bool> AllZero(int64_t from, int64_t to);
  absl::Status ReportUnframed(const std::string& rule, const std::string& detail,
                              bool cut_off_batch, std::vector<Problem>* problems);

  // Corrects out->header.base_offset as Next describes; `next` is where the batch after it
  // starts. May move the read buffer: out->bytes is kept in stable_ then.
  absl::Status CheckBaseOffset(int64_t next, ScannedBatch* out, std::vector<Problem>* problems);

  ReadOnlyFile* const file_;
  int64_t position_;
  // The offset the next batch should start at: after the previous batch, or the segment's
  // base for the first batch of the file; unknown after unframed bytes.
  std::optional<int64_t> expected_offset_;
  std::string stable_;
  // Bytes of candidate batches whose CRC a resync may still compute: bounds the work a hostile
  // file can cause to a few passes over it.
  int64_t resync_budget_;
  absl::Status status_;
};

}  // namespace varve::dump
