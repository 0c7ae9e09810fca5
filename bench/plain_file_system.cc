// The plain-file baseline: what a user writes instead of using a log engine. One file per
// partition (<dir>/partition-<p>.dat) holding length-prefixed records,
//
//   +----------------+----------------+------------------+
//   | length (u32be) | crc32c (u32be) | length bytes     |
//   +----------------+----------------+------------------+
//
// written through a 1 MiB buffer with pwrite(2) — the buffer is written out when the next record
// would not fit, so each write is up to 1 MiB of whole records — and read back with pread(2)
// into a 1 MiB buffer, checking every record's CRC32C (the same checksum work varve does per
// batch).
//
// Threads appending to one partition share its file under a mutex (as varve's appenders share
// a log): each copies its batch into the current buffer; the thread that finds full buffers and
// no write running takes them, writes (and, when the durability asks, fdatasyncs) them outside
// the mutex, so the others keep filling the next buffer meanwhile. The CRCs are computed before
// taking the mutex.
//
// group_commit: an appender waits until an fdatasync covering its batch has completed. The
// file is synced once per full buffer (1 MiB), or with a partial buffer when every writer of
// the file is waiting (a blocking writer with less than 1 MiB in flight would otherwise wait
// forever). Latencies are therefore comparable with varve's durable acknowledgements.

#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/endian.h"
#include "base/file.h"
#include "base/status_macros.h"
#include "bench/system.h"
#include "log/crc32c.h"

namespace varve::bench {
namespace {

constexpr size_t kBufferBytes = 1 << 20;
constexpr size_t kFrameHeader = 8;
// Full buffers allowed to queue behind a running write before appenders wait.
constexpr size_t kMaxQueuedBuffers = 4;

struct Buffer {
  explicit Buffer(size_t capacity) : data(new char[capacity]) {}
  std::unique_ptr<char[]> data;
  size_t size = 0;
};

absl::Status WriteAll(int fd, const std::string& path, int64_t position, const char* data,
                      size_t n) {
  while (n > 0) {
    ssize_t w = pwrite(fd, data, n, position);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "pwrite", path);
    }
    data += w;
    n -= static_cast<size_t>(w);
    position += w;
  }
  return absl::OkStatus();
}

// One partition's file and the buffers in front of it.
class PlainFile {
 public:
  PlainFile(std::string path, int fd, DurabilityMode durability, size_t frame_bytes)
      : path_(std::move(path)),
        fd_(fd),
        durability_(durability),
        capacity_(std::max(kBufferBytes, frame_bytes)) {
    current_ = NewBuffer();
  }
  ~PlainFile() {
    if (fd_ >= 0) close(fd_);
  }

  void AddWriter() {
    std::lock_guard l(mu_);
    ++writers_;
  }
  void RemoveWriter() {
    std::lock_guard l(mu_);
    --writers_;
    cv_.notify_all();  // waiters may now be every remaining writer
  }

  absl::Status Append(absl::Span<const absl::string_view> records, const uint32_t* crcs) {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return !error_.ok() || !flushing_ || full_.size() < kMaxQueuedBuffers; });
    RETURN_IF_ERROR(error_);
    for (size_t i = 0; i < records.size(); ++i) Put(records[i], crcs[i]);
    const int64_t end = appended_;
    if (durability_ != DurabilityMode::kGroupCommit) {
      if (!flushing_ && !full_.empty()) Flush(l, /*include_partial=*/false);
      return error_;
    }
    ++waiting_;
    while (synced_ < end && error_.ok()) {
      const bool all_waiting = waiting_ >= writers_;
      if (!flushing_ && (!full_.empty() || all_waiting)) {
        Flush(l, /*include_partial=*/full_.empty());
      } else {
        cv_.wait(l);
      }
    }
    --waiting_;
    return error_;
  }

  // Writes out everything appended (no writer is left).
  absl::Status Finish() {
    std::unique_lock l(mu_);
    while (error_.ok() && (flushing_ || written_ < appended_)) {
      if (flushing_) {
        cv_.wait(l);
      } else {
        Flush(l, /*include_partial=*/true);
      }
    }
    return error_;
  }

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  std::unique_ptr<Buffer> NewBuffer() {
    if (free_.empty()) return std::make_unique<Buffer>(capacity_);
    std::unique_ptr<Buffer> b = std::move(free_.back());
    free_.pop_back();
    b->size = 0;
    return b;
  }

  // Copies one frame into the current buffer. A buffer holds whole frames: one that would not
  // fit goes to the next buffer, so every write ends at a record boundary (and writes are not
  // aligned to 1 MiB in the file, which on this VM's kernel makes buffered writes several times
  // slower: docs/benchmarks.md).
  void Put(absl::string_view record, uint32_t crc) {
    const size_t frame = kFrameHeader + record.size();
    if (current_->size + frame > capacity_) {
      full_.push_back(std::move(current_));
      current_ = NewBuffer();
    }
    char* out = current_->data.get() + current_->size;
    StoreBE32(out, static_cast<uint32_t>(record.size()));
    StoreBE32(out + 4, crc);
    std::memcpy(out + kFrameHeader, record.data(), record.size());
    current_->size += frame;
    appended_ += static_cast<int64_t>(frame);
  }

  // Takes the full buffers (and the partial one if asked), writes them at the end of the file
  // without holding the mutex, fdatasyncs as the durability requires, and keeps going while
  // buffers filled up meanwhile and nobody waits for this thread's acknowledgement.
  void Flush(std::unique_lock<std::mutex>& l, bool include_partial) {
    flushing_ = true;
    do {
      std::vector<std::unique_ptr<Buffer>> take(std::make_move_iterator(full_.begin()),
                                                std::make_move_iterator(full_.end()));
      full_.clear();
      if (include_partial && current_->size > 0) {
        take.push_back(std::move(current_));
        current_ = NewBuffer();
      }
      int64_t position = written_;
      for (const auto& b : take) written_ += static_cast<int64_t>(b->size);
      const int64_t target = written_;
      cv_.notify_all();  // room in the queue again
      l.unlock();
      absl::Status status;
      for (const auto& b : take) {
        status = WriteAll(fd_, path_, position, b->data.get(), b->size);
        if (!status.ok()) break;
        position += static_cast<int64_t>(b->size);
      }
      if (status.ok() && durability_ != DurabilityMode::kPageCache && fdatasync(fd_) != 0) {
        status = ErrnoToStatus(errno, "fdatasync", path_);
      }
      l.lock();
      for (auto& b : take) free_.push_back(std::move(b));
      if (status.ok()) {
        synced_ = target;
      } else if (error_.ok()) {
        error_ = status;
      }
      include_partial = false;
    } while (error_.ok() && durability_ != DurabilityMode::kGroupCommit && !full_.empty());
    flushing_ = false;
    cv_.notify_all();
  }

  const std::string path_;
  const int fd_;
  const DurabilityMode durability_;
  const size_t capacity_;  // 1 MiB, or one frame if that is larger

  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<Buffer> current_;
  std::deque<std::unique_ptr<Buffer>> full_;
  std::vector<std::unique_ptr<Buffer>> free_;
  int64_t appended_ = 0;  // bytes appended to the stream
  int64_t written_ = 0;   // bytes handed to writes (the file position of the next one)
  int64_t synced_ = 0;    // bytes whose write (and fdatasync, if due) completed
  bool flushing_ = false;
  int writers_ = 0;
  int waiting_ = 0;
  absl::Status error_;
};

class PlainWriter final : public Writer {
 public:
  explicit PlainWriter(PlainFile* file) : file_(file) { file_->AddWriter(); }
  ~PlainWriter() override { file_->RemoveWriter(); }

  absl::Status Append(absl::Span<const absl::string_view> records) override {
    crcs_.resize(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      crcs_[i] = Crc32c(records[i].data(), records[i].size());
    }
    return file_->Append(records, crcs_.data());
  }

 private:
  PlainFile* const file_;
  std::vector<uint32_t> crcs_;
};

class PlainFileSystem final : public System {
 public:
  explicit PlainFileSystem(const SystemConfig& config) : config_(config) {}

  absl::Status Open() {
    for (int p = 0; p < config_.partitions; ++p) {
      std::string path = absl::StrCat(config_.dir, "/partition-", p, ".dat");
      int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return ErrnoToStatus(errno, "open", path);
      files_.push_back(std::make_unique<PlainFile>(
          path, fd, config_.durability, kFrameHeader + static_cast<size_t>(config_.record_size)));
    }
    return absl::OkStatus();
  }

  SystemKind kind() const override { return SystemKind::kPlainFile; }

  absl::StatusOr<std::unique_ptr<Writer>> NewWriter(int partition) override {
    return std::make_unique<PlainWriter>(files_.at(partition).get());
  }

  absl::Status FinishWrites() override {
    for (const auto& f : files_) RETURN_IF_ERROR(f->Finish());
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Scan(int partition, std::atomic<int64_t>* records_seen) override {
    const PlainFile& file = *files_.at(partition);
    const size_t frame = kFrameHeader + static_cast<size_t>(config_.record_size);
    // A 1 MiB read buffer plus room for a frame cut at the end of the previous read.
    std::vector<char> buf(kBufferBytes + frame);
    size_t have = 0;  // bytes in buf not consumed yet
    int64_t position = 0;
    int64_t seen = 0;
    bool eof = false;
    while (!eof || have > 0) {
      if (!eof) {
        ssize_t n = pread(file.fd(), buf.data() + have, kBufferBytes, position);
        if (n < 0) {
          if (errno == EINTR) continue;
          return ErrnoToStatus(errno, "pread", file.path());
        }
        eof = n == 0;
        position += n;
        have += static_cast<size_t>(n);
      }
      size_t pos = 0;
      while (have - pos >= kFrameHeader) {
        const uint32_t length = LoadBE32(buf.data() + pos);
        if (length != config_.record_size) {
          return absl::DataLossError(absl::StrCat(file.path(), ": record at byte ",
                                                  position - static_cast<int64_t>(have - pos),
                                                  " has length ", length));
        }
        if (have - pos < kFrameHeader + length) break;
        const uint32_t crc = LoadBE32(buf.data() + pos + 4);
        if (Crc32c(buf.data() + pos + kFrameHeader, length) != crc) {
          return absl::DataLossError(absl::StrCat(file.path(), ": record at byte ",
                                                  position - static_cast<int64_t>(have - pos),
                                                  " fails its CRC32C"));
        }
        pos += kFrameHeader + length;
        ++seen;
      }
      records_seen->fetch_add(static_cast<int64_t>(pos / frame), std::memory_order_relaxed);
      std::memmove(buf.data(), buf.data() + pos, have - pos);
      have -= pos;
      if (eof && have > 0) {
        return absl::DataLossError(
            absl::StrCat(file.path(), ": ", have, " bytes of a cut record at the end"));
      }
    }
    return seen;
  }

  absl::Status Close() override {
    files_.clear();
    return absl::OkStatus();
  }

 private:
  const SystemConfig config_;
  std::vector<std::unique_ptr<PlainFile>> files_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<System>> OpenPlainFileSystem(const SystemConfig& config) {
  auto system = std::make_unique<PlainFileSystem>(config);
  RETURN_IF_ERROR(system->Open());
  return system;
}

}  // namespace varve::bench
