#include "log/io_backend.h"

#include <errno.h>
#include <liburing.h>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace varve {
namespace {

class PwritevBackend final : public IoBackend {
 public:
  IoBackendKind kind() const override { return IoBackendKind::kPwritev; }
  absl::Status Write(File* file, int64_t position, absl::string_view data,
                     PendingSync* sync) override {
    RETURN_IF_ERROR(file->Write(position, data));
    if (sync != nullptr) sync->submitted = true;
    return absl::OkStatus();
  }
  absl::Status WaitSync(File* file, PendingSync* sync) override {
    if (!sync->submitted) return absl::OkStatus();
    sync->submitted = false;
    return file->Sync();
  }
  absl::Status Sync(File* file) override { return file->Sync(); }
};

// One ring per thread: appenders and flushers each submit on their own, so no lock is shared
// between threads and each waits for its own completions inline.
struct ThreadRing {
  io_uring ring;
  int init_error;
  ThreadRing() { init_error = -io_uring_queue_init(8, &ring, 0); }
  ~ThreadRing() {
    if (init_error == 0) io_uring_queue_exit(&ring);
  }
};

ThreadRing& LocalRing() {
  thread_local ThreadRing ring;
  return ring;
}

constexpr uint64_t kWriteTag = 1;
constexpr uint64_t kSyncTag = 2;

class UringBackend final : public IoBackend {
 public:
  IoBackendKind kind() const override { return IoBackendKind::kIoUring; }

  absl::Status Write(File* file, int64_t position, absl::string_view data,
                     PendingSync* sync) override {
    ThreadRing& r = LocalRing();
    // Files without a kernel descriptor (test doubles) and threads that could not get a ring
    // take the portable path.
    if (file->fd() < 0 || r.init_error != 0) return fallback_.Write(file, position, data, sync);
    // A buffered write with no sync linked to it gains nothing from the ring: ext4 hands it to
    // an io_uring worker thread, and the two cross-thread wakeups per append cost more than
    // the copy (measured: 100-byte appends 1.16 M/s through the ring, 4.4 M/s with pwritev;
    // docs/benchmarks.md). The ring is used where it pays: a write with its fdatasync linked.
    if (sync == nullptr) return fallback_.Write(file, position, data, nullptr);
    size_t done = 0;
    bool linked = false;
    for (bool first = true; first || done < data.size(); first = false) {
      const bool link_now = first && sync != nullptr;
      io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
      io_uring_prep_write(sqe, file->fd(), data.data() + done,
                          static_cast<unsigned>(data.size() - done), position + done);
      io_uring_sqe_set_data64(sqe, kWriteTag);
      if (link_now) {
        sqe->flags |= IOSQE_IO_LINK;
        io_uring_sqe* fsync = io_uring_get_sqe(&r.ring);
        io_uring_prep_fsync(fsync, file->fd(), IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data64(fsync, kSyncTag);
      }
      int rc = io_uring_submit(&r.ring);
      if (rc < 0) return ErrnoToStatus(-rc, "io_uring submit for", file->path());
      // The write completes before its linked sync starts, so its completion comes first.
      io_uring_cqe* cqe;
      rc = io_uring_wait_cqe(&r.ring, &cqe);
      if (rc < 0) return ErrnoToStatus(-rc, "io_uring wait for", file->path());
      const int res = cqe->res;
      io_uring_cqe_seen(&r.ring, cqe);
      if (res < 0) {
        if (link_now) ReapSync(&r).IgnoreError();  // cancelled along with the failed write
        return ErrnoToStatus(-res, absl::StrCat("write at byte ", position + done, " of"),
                             file->path());
      }
      if (res == 0) {
        if (link_now) ReapSync(&r).IgnoreError();
        return absl::InternalError(absl::StrCat("write at byte ", position + done, " of ",
                                                file->path(), " wrote nothing"));
      }
      done += res;
      if (link_now) {
        // A short write breaks the link and cancels the sync; WaitSync then issues its own.
        if (done < data.size()) {
          ReapSync(&r).IgnoreError();
        } else {
          linked = true;
        }
      }
    }
    if (sync != nullptr) sync->submitted = true;
    pending_linked_ = linked;
    return absl::OkStatus();
  }

  absl::Status WaitSync(File* file, PendingSync* sync) override {
    if (!sync->submitted) return absl::OkStatus();
    sync->submitted = false;
    ThreadRing& r = LocalRing();
    if (file->fd() < 0 || r.init_error != 0 || !pending_linked_) return Sync(file);
    pending_linked_ = false;
    absl::StatusOr<int> res = ReapSync(&r);
    if (!res.ok()) return res.status();
    if (*res < 0) return ErrnoToStatus(-*res, "fdatasync", file->path());
    return absl::OkStatus();
  }

  // A sync with no write to link it to: fdatasync(2) on the calling thread. Through the ring it
  // would run on an io_uring worker thread, and the caller would wait for that thread's wakeup:
  // one more cross-thread hop per group commit for the same fdatasync (16 durable appenders:
  // 186-271 MB/s through the ring, 303-328 MB/s direct, load 10-12; docs/benchmarks.md).
  absl::Status Sync(File* file) override { return file->Sync(); }

 private:
  static absl::StatusOr<int> ReapSync(ThreadRing* r) {
    io_uring_cqe* cqe;
    int rc = io_uring_wait_cqe(&r->ring, &cqe);
    if (rc < 0) return ErrnoToStatus(-rc, "io_uring wait", "(sync)");
    int res = cqe->res;
    io_uring_cqe_seen(&r->ring, cqe);
    return res;
  }

  // Per thread in spirit (a PendingSync belongs to one thread), so a plain thread_local flag.
  static thread_local bool pending_linked_;
  PwritevBackend fallback_;
};

thread_local bool UringBackend::pending_linked_ = false;

}  // namespace

absl::StatusOr<std::unique_ptr<IoBackend>> IoBackend::Create(IoBackendKind kind) {
  if (kind == IoBackendKind::kPwritev) return std::make_unique<PwritevBackend>();
  const int err = LocalRing().init_error;
  if (err == 0) return std::make_unique<UringBackend>();
  if (kind == IoBackendKind::kIoUring) {
    return absl::UnavailableError(
        absl::StrCat("io_uring is not available here: io_uring_setup: ", strerror(err)));
  }
  return std::make_unique<PwritevBackend>();
}

}  // namespace varve
