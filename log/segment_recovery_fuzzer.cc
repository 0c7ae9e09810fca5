// libFuzzer target for crash recovery of the active segment: the input becomes a .log file, which
// Segment::OpenActive (after a crash: no clean-shutdown state) and Recover() must turn into a
// segment that holds exactly a run of valid batches, whatever the bytes were (a torn write, a
// preallocated tail of zeros, garbage).
//
// Byte 0 of the input picks the scenario; the rest, "the tail", is written to the file after an
// optional valid prefix:
//   bit 0     the tail follows a valid prefix of BatchBuilder batches, which must survive
//   bit 1     the CRC of every batch frame in the tail is recomputed (else recovery would stop
//             at the first CRC almost always)
//   bit 2     the tail's batches are renumbered: each BaseOffset follows the previous batch
//   bits 3-4  the segment's base offset, from kBaseOffsets
//   bits 5-6  the number of prefix batches, minus one
//   bit 7     Recover(truncate_invalid_tail=false): the invalid bytes stay in the file
//
// Checked after recovery: the file (up to size()) reads as valid batches to its end with
// BatchIterator; size() is the file's size (or, keeping the tail, the valid part of it); the
// offsets increase and fit the segment's 32-bit relative offsets; next_offset() follows the last
// batch; the prefix is intact; the rebuilt offset index finds every batch; and a Close and
// reopen as a sealed segment sees the same size and max timestamp.
//
// Files live in one directory under $TEST_TMPDIR (or /tmp), emptied before each input and
// removed at a normal exit (a crash leaves it, with the crashing input's segment files). Seeds and
// regressions: log/testdata/fuzz/segment_recovery_fuzzer/.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/endian.h"
#include "base/file.h"
#include "log/batch_builder.h"
#include "log/batch_reader.h"
#include "log/fuzz_check.h"
#include "log/log_config.h"
#include "log/record_batch.h"
#include "log/segment.h"

namespace varve {
namespace {

// The last is the largest the indexes accept: relative offsets then reach INT64_MAX.
constexpr int64_t kBaseOffsets[] = {
    0, 1000, int64_t{1} << 40,
    std::numeric_limits<int64_t>::max() - std::numeric_limits<int32_t>::max()};
constexpr int64_t kNowMs = 1'700'000'000'000;
// Larger inputs are skipped: with the small indexes of Config() they could fill an index, which
// Append prevents by rolling but recovery of a hand-made file cannot.
constexpr size_t kMaxInputBytes = 16 * 1024;

// Small indexes and a small index interval, so that a few KiB of batches get index entries.
LogConfig Config() {
  LogConfig config;
  config.index_interval_bytes = 128;
  config.segment_index_bytes = 8192;
  return config;
}

// The working directory, created on first use and removed at exit.
const std::string& Dir() {
  static const std::string* dir = [] {
    const char* root = std::getenv("TEST_TMPDIR");
    if (root == nullptr || *root == '\0') root = "/tmp";
    std::string path = absl::StrCat(root, "/varve-segment-fuzz-XXXXXX");
    FUZZ_CHECK(mkdtemp(path.data()) != nullptr);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(Dir(), ignored);
    });
    return new std::string(path);
  }();
  return *dir;
}

void EmptyDir() {
  for (const auto& entry : std::filesystem::directory_iterator(Dir())) {
    std::filesystem::remove(entry.path());
  }
}

// Calls fn(frame, size) for each batch frame laid back to back in *bytes, where a frame runs
// BatchLength + 12 bytes, or to the end when that is shorter (a torn batch) or too short to be
// a batch. Stops when fewer than a batch header's bytes are left.
template <typename Fn>
void ForEachFrame(std::string* bytes, Fn fn) {
  size_t pos = 0;
  while (bytes->size() - pos >= static_cast<size_t>(kBatchHeaderSize)) {
    char* frame = bytes->data() + pos;
    const int64_t size =
        kLogOverhead + int64_t{static_cast<int32_t>(LoadBE32(frame + kBatchLengthPos))};
    const size_t left = bytes->size() - pos;
    const size_t n = size >= kBatchHeaderSize && size <= static_cast<int64_t>(left)
                         ? static_cast<size_t>(size)
                         : left;
    fn(frame, n);
    pos += n;
  }
}

// The valid prefix: `count` batches of 1, 2, ... records from `base_offset` on. Sets
// *next_offset to the offset after them.
std::string Prefix(int64_t base_offset, int count, int64_t* next_offset) {
  std::string prefix;
  *next_offset = base_offset;
  for (int b = 0; b < count; ++b) {
    BatchBuilder::Options options;
    options.base_offset = *next_offset;
    BatchBuilder builder(options);
    const HeaderRef headers[] = {{"trace", "abc"}, {"null", std::nullopt}};
    for (int r = 0; r <= b; ++r) {
      builder.Add(kNowMs + 10 * b + r, absl::StrCat("key-", *next_offset + r),
                  std::string(40 * r, 'v'), headers);
    }
    *next_offset += builder.record_count();
    prefix += builder.Build();
  }
  return prefix;
}

std::string ReadWholeFile(const std::string& path) {
  absl::StatusOr<std::unique_ptr<File>> file = PosixFileSystem()->Open(path, OpenMode::kReadOnly);
  FUZZ_CHECK_OK(file.status());
  absl::StatusOr<int64_t> size = (*file)->Size();
  FUZZ_CHECK_OK(size.status());
  std::string contents(static_cast<size_t>(*size), '\0');
  FUZZ_CHECK_OK((*file)->ReadExact(0, absl::MakeSpan(contents)));
  return contents;
}

void Run(const uint8_t* data, size_t size) {
  const uint8_t mode = size > 0 ? data[0] : 0;
  const bool with_prefix = (mode & 0x01) != 0;
  const bool fix_crcs = (mode & 0x02) != 0;
  const bool renumber = (mode & 0x04) != 0;
  const int64_t base_offset = kBaseOffsets[(mode >> 3) & 3];
  const int prefix_batches = with_prefix ? 1 + ((mode >> 5) & 3) : 0;
  const bool truncate = (mode & 0x80) == 0;

  int64_t next = 0;
  const std::string prefix = Prefix(base_offset, prefix_batches, &next);
  std::string tail(reinterpret_cast<const char*>(data) + (size > 0 ? 1 : 0),
                   size > 0 ? size - 1 : 0);
  if (renumber) {
    ForEachFrame(&tail, [&next](char* frame, size_t) {
      SetBaseOffset(frame, next);
      next = WrappingAdd(DecodeBatchHeader(frame).last_offset(), 1);
    });
  }
  if (fix_crcs) {
    ForEachFrame(&tail, [](char* frame, size_t n) {
      StoreBE32(frame + kCrcPos, ComputeBatchCrc(absl::string_view(frame, n)));
    });
  }
  const std::string contents = prefix + tail;

  FileSystem* fs = PosixFileSystem();
  EmptyDir();
  const std::string log_path = JoinPath(Dir(), SegmentFileStem(base_offset) + ".log");
  {
    absl::StatusOr<std::unique_ptr<File>> file = fs->Open(log_path, OpenMode::kCreate);
    FUZZ_CHECK_OK(file.status());
    FUZZ_CHECK_OK((*file)->Write(0, contents));
  }

  const LogConfig config = Config();
  absl::StatusOr<std::shared_ptr<Segment>> opened =
      Segment::OpenActive(fs, Dir(), base_offset, config, kNowMs, /*clean=*/nullptr);
  FUZZ_CHECK_OK(opened.status());
  Segment& segment = **opened;
  absl::StatusOr<int64_t> invalid = segment.Recover(truncate);
  FUZZ_CHECK_OK(invalid.status());

  // Sizes: the valid part is size(); the file keeps the invalid tail only if asked to.
  const int64_t valid_size = segment.size();
  FUZZ_CHECK(*invalid >= 0);
  FUZZ_CHECK(valid_size + *invalid == static_cast<int64_t>(contents.size()));
  const std::string file = ReadWholeFile(log_path);
  FUZZ_CHECK(file.size() == (truncate ? static_cast<size_t>(valid_size) : contents.size()));
  FUZZ_CHECK(absl::string_view(contents).substr(0, file.size()) == file);
  FUZZ_CHECK(valid_size >= static_cast<int64_t>(prefix.size()));

  // The valid part is a run of batches with increasing offsets inside the segment's range.
  std::vector<BatchLocation> batches;
  BatchIterator it(absl::string_view(file).substr(0, static_cast<size_t>(valid_size)));
  int64_t next_offset = base_offset;
  for (BatchView batch; it.Next(&batch);) {
    const BatchHeader& h = batch.header;
    FUZZ_CHECK(h.base_offset >= next_offset);
    FUZZ_CHECK(h.last_offset_delta >= 0);
    FUZZ_CHECK(h.base_offset <= std::numeric_limits<int64_t>::max() - h.last_offset_delta);
    FUZZ_CHECK(h.last_offset() - base_offset <= std::numeric_limits<int32_t>::max());
    FUZZ_CHECK(h.last_offset() < std::numeric_limits<int64_t>::max());  // next offset fits
    next_offset = h.last_offset() + 1;
    batches.push_back(BatchLocation{batch.position, h});
  }
  FUZZ_CHECK_OK(it.status());
  FUZZ_CHECK(it.position() == valid_size);
  FUZZ_CHECK(segment.next_offset() == next_offset);

  // The offset index rebuilt by Recover leads to every batch.
  for (const BatchLocation& batch : batches) {
    absl::StatusOr<std::optional<BatchLocation>> found =
        segment.FindBatch(batch.header.last_offset(), valid_size);
    FUZZ_CHECK_OK(found.status());
    FUZZ_CHECK(found->has_value() && (*found)->position == batch.position);
  }

  // A clean close and a reopen as a sealed segment see the same segment.
  const TimestampOffset max_timestamp = segment.max_timestamp();
  FUZZ_CHECK_OK(segment.Close());
  opened->reset();
  if (!truncate) {
    // A sealed segment's size is its file's: cut the invalid tail as the log would.
    absl::StatusOr<std::unique_ptr<File>> log = fs->Open(log_path, OpenMode::kReadWrite);
    FUZZ_CHECK_OK(log.status());
    FUZZ_CHECK_OK((*log)->Truncate(valid_size));
  }
  absl::StatusOr<std::shared_ptr<Segment>> reopened =
      Segment::OpenSealed(fs, Dir(), base_offset, next_offset, config, kNowMs);
  FUZZ_CHECK_OK(reopened.status());
  FUZZ_CHECK((*reopened)->size() == valid_size);
  FUZZ_CHECK((*reopened)->max_timestamp() == max_timestamp);
  FUZZ_CHECK_OK((*reopened)->Close());
}

}  // namespace
}  // namespace varve

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > varve::kMaxInputBytes) return 0;
  varve::Run(data, size);
  return 0;
}
