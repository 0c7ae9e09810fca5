#pragma once

// IoBackend: how appended bytes reach a segment file, chosen once when a log opens.
//
//   io_uring  a write that carries a due flush goes through a small per-thread ring with the
//             fdatasync linked to it in the same submission; the caller waits for the write's
//             completion and collects the sync's later, after releasing its locks. Writes with
//             no sync attached, and syncs with no write attached, use pwritev(2) and
//             fdatasync(2) on the calling thread even here: for buffered writes and lone syncs
//             the ring only adds a hop to a kernel worker thread (measured in
//             docs/benchmarks.md).
//   pwritev   pwritev(2) and fdatasync(2) on the calling thread: where the kernel, seccomp or a
//             container forbids io_uring, or when the caller asks for it (tests of both paths,
//             and the fault-injecting file system, whose faults io_uring would bypass).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<IoBackend> io, IoBackend::Create(IoBackendKind::kAuto));
//   PendingSync sync;
//   RETURN_IF_ERROR(io->Write(file, position, bytes, &sync));  // returns once written
//   ... publish, unlock ...
//   RETURN_IF_ERROR(io->WaitSync(file, &sync));                // returns once durable
//
// Thread-safety: any number of threads may use one IoBackend at once. A PendingSync belongs to
// the thread that started it: that thread must call WaitSync before its next Write or Sync.
//
// Errors: as base/file.h maps errno values; a short write is completed, never reported.

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/file.h"
#include "log/durability.h"

namespace varve {

// A linked fdatasync submitted with a write, to be collected with WaitSync.
struct PendingSync {
  bool submitted = false;
};

class IoBackend {
 public:
  // kAuto picks io_uring if a ring can be set up here, else pwritev. kIoUring fails with
  // Unavailable (saying why) if it cannot.
  static absl::StatusOr<std::unique_ptr<IoBackend>> Create(IoBackendKind kind);
  virtual ~IoBackend() = default;

  // The backend in use: kIoUring or kPwritev.
  virtual IoBackendKind kind() const = 0;

  // Writes every byte of `data` at `position`. With `sync` non-null, also starts an fdatasync of
  // the file that runs after the write (linked, with io_uring); collect it with WaitSync.
  virtual absl::Status Write(File* file, int64_t position, absl::string_view data,
                             PendingSync* sync) = 0;
  // Waits for a sync started by Write. A no-op if none was started.
  virtual absl::Status WaitSync(File* file, PendingSync* sync) = 0;
  // fdatasync(2) of `file`, on the calling thread.
  virtual absl::Status Sync(File* file) = 0;
};

}  // namespace varve
