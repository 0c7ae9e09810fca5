#include "broker/server/connection.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/server/server_log.h"

namespace varve::server {
namespace {

// Per wake-up budgets, so one busy connection cannot starve the others on its loop; level-
// triggered epoll reports the socket again in the next round if more is pending.
constexpr int64_t kReadBudgetBytes = 1 << 20;
constexpr int64_t kWriteBudgetBytes = 4 << 20;

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Errors that mean "the peer went away", not worth a log line.
bool IsRoutineDisconnect(int error_number) {
  return error_number == ECONNRESET || error_number == EPIPE || error_number == ETIMEDOUT;
}

}  // namespace

Connection::Connection(int fd, ConnectionInfo info, LoopContext* context)
    : fd_(fd),
      info_(std::move(info)),
      context_(context),
      loop_(context->loop),
      reader_(context->limits.max_request_bytes),
      admission_(context->admission) {}

bool ConnectionAdmission::TryAdmit(const std::string& address, std::string* why) {
  std::lock_guard lock(mu_);
  if (total_ >= max_total_) {
    *why = absl::StrCat(total_, " connections open (max.connections=", max_total_, ")");
    return false;
  }
  int& from_address = per_address_[address];
  if (from_address >= max_per_address_) {
    *why = absl::StrCat(from_address, " connections open from ", address,
                        " (max.connections.per.ip=", max_per_address_, ")");
    if (from_address == 0) per_address_.erase(address);
    return false;
  }
  ++from_address;
  ++total_;
  return true;
}

void ConnectionAdmission::Release(const std::string& address) {
  std::lock_guard lock(mu_);
  --total_;
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second <= 0) per_address_.erase(it);
}

std::string PeerAddress(absl::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    size_t close = peer.find(']');
    if (close != absl::string_view::npos) return std::string(peer.substr(1, close - 1));
  }
  size_t colon = peer.rfind(':');
  return std::string(colon == absl::string_view::npos ? peer : peer.substr(0, colon));
}

Connection::~Connection() {
  if (!closed_) ::close(fd_);  // never opened: the loop stopped before it could take it
  if (admitted_ && admission_) admission_->Release(PeerAddress(info_.peer));
}

bool Connection::IdleLongerThan(int64_t now_ns, int64_t idle_ns) const {
  return opened_ && !closed_ && pending_.empty() && output_.empty() &&
         now_ns - last_activity_ns_ > idle_ns;
}

void Connection::Open() {
  assert(!opened_);
  opened_ = true;
  last_activity_ns_ = context_->idle_clock_ns();
  context_->counters->connections_accepted.fetch_add(1, std::memory_order_relaxed);
  context_->open[info_.id] = shared_from_this();
  interest_ = EPOLLIN | EPOLLRDHUP;
  absl::Status status = loop_->AddFd(fd_, interest_, this);
  if (!status.ok()) {
    interest_ = 0;
    Close(status.ToString(), /*log=*/true);
  }
}

bool Connection::CanDispatch() const {
  return !closed_ && pending_.size() < static_cast<size_t>(context_->limits.max_in_flight) &&
         queued_bytes_ <= context_->limits.max_queued_response_bytes;
}

void Connection::OnFdEvents(uint32_t events) {
  if (closed_) return;
  if (events & EPOLLERR) {
    int error_number = 0;
    socklen_t len = sizeof error_number;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error_number, &len);
    Close(absl::StrCat("socket error: ", std::strerror(error_number)),
          !IsRoutineDisconnect(error_number));
    return;
  }
  if (events & EPOLLOUT) {
    Flush();
    if (closed_) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) {
    if (CanDispatch()) {
      ReadAvailable();
    } else if (events & (EPOLLHUP | EPOLLRDHUP)) {
      // Paused, so EOF would never be read; Kafka clients do not half-close, so the peer is gone.
      Close("peer closed the connection while it was paused", /*log=*/false);
    }
    if (closed_) return;
  }
  DispatchBuffered();  // writing may have lifted a pause
  if (closed_) return;
  UpdateInterest();
}

void Connection::ReadAvailable() {
  std::vector<char>& scratch = context_->read_buffer;
  int64_t budget = kReadBudgetBytes;
  while (CanDispatch() && budget > 0) {
    // The rest of a frame whose size is known goes straight into that frame's buffer; what
    // follows it (or everything, between frames) lands in the loop's scratch and is copied out.
    absl::Span<char> direct = reader_.DirectTarget();
    size_t direct_want = std::min<size_t>(direct.size(), static_cast<size_t>(budget));
    size_t scratch_want = std::min<size_t>(scratch.size(), static_cast<size_t>(budget));
    iovec iov[2];
    int iov_count = 0;
    if (direct_want > 0) iov[iov_count++] = {direct.data(), direct_want};
    // Once a frame is underway, scratch only takes the bytes after it, so the last read of
    // a frame also picks up the next requests without another system call.
    if (direct_want == direct.size()) iov[iov_count++] = {scratch.data(), scratch_want};
    size_t want = 0;
    for (int i = 0; i < iov_count; ++i) want += iov[i].iov_len;
    ssize_t n = ::readv(fd_, iov, iov_count);
    if (n > 0) {
      last_activity_ns_ = context_->idle_clock_ns();
      context_->counters->bytes_received.fetch_add(n, std::memory_order_relaxed);
      size_t into_direct = std::min(static_cast<size_t>(n), direct_want);
      if (direct_want > 0) reader_.CommitDirect(into_direct);
      if (static_cast<size_t>(n) > into_direct) {
        reader_.Append(absl::string_view(scratch.data(), static_cast<size_t>(n) - into_direct));
      }
      budget -= n;
      DispatchBuffered();
      if (static_cast<size_t>(n) < want) return;  // drained; epoll reports the next bytes
      continue;
    }
    if (n == 0) {
      Close("peer closed the connection", /*log=*/false);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    int error_number = errno;
    Close(absl::StrCat("read: ", std::strerror(error_number)), !IsRoutineDisconnect(error_number));
    return;
  }
}

void Connection::DispatchBuffered() {
  while (CanDispatch()) {
    std::string frame;
    FrameReader::Result result = reader_.Next(&frame);
    if (result == FrameReader::Result::kNeedMore) return;
    if (result == FrameReader::Result::kBadSize) {
      context_->counters->frames_rejected.fetch_add(1, std::memory_order_relaxed);
      int64_t size = reader_.bad_size();
      // 0x1603xxxx: a TLS handshake record, i.e. a client configured for SSL on this port.
      bool tls = (size >> 16) == 0x1603;
      Close(absl::StrCat("frame size ", size, " outside [0, ", context_->limits.max_request_bytes,
                         "] (socket.request.max.bytes)",
                         tls ? "; looks like a TLS ClientHello on a plaintext listener" : ""),
            /*log=*/true);
      return;
    }
    context_->counters->frames_received.fetch_add(1, std::memory_order_relaxed);
    context_->counters->requests_in_flight.fetch_add(1, std::memory_order_relaxed);
    uint64_t sequence = next_sequence_++;
    pending_.emplace_back();
    ++waiting_;
    Request request{std::move(frame), info_, SteadyNowNs()};
    context_->handler->Handle(std::move(request), ResponseSlot(shared_from_this(), sequence));
  }
}

void Connection::Complete(uint64_t sequence, ResponseSlot::Kind kind, ResponsePayload payload,
                          std::string reason) {
  if (closed_) return;  // the payload is dropped here, on the loop thread
  assert(sequence >= first_pending_sequence_ && sequence < next_sequence_);
  Pending& entry = pending_[sequence - first_pending_sequence_];
  assert(entry.state == Pending::State::kWaiting);
  --waiting_;
  context_->counters->requests_in_flight.fetch_sub(1, std::memory_order_relaxed);
  switch (kind) {
    case ResponseSlot::Kind::kClose:
      Close(reason, /*log=*/true);
      return;
    case ResponseSlot::Kind::kNothing:
      entry.state = Pending::State::kSkip;
      break;
    case ResponseSlot::Kind::kSend:
      if (payload.size() > INT32_MAX) {
        Close(absl::StrCat("response of ", payload.size(), " bytes does not fit in a frame"),
              /*log=*/true);
        return;
      }
      AddQueuedBytes(4 + payload.size());
      entry.state = Pending::State::kReady;
      entry.payload = std::move(payload);
      break;
  }
  ReleaseReadyResponses();
  ScheduleFlush();
  DispatchBuffered();
  if (closed_) return;
  UpdateInterest();
}

void Connection::ScheduleFlush() {
  // While waiting for EPOLLOUT the socket is full (or this round's budget is spent): the event
  // writes. Otherwise write at the start of the next round rather than now, so every response
  // completed in this round (pipelined requests answered on the loop thread, typically) goes
  // out in one sendmsg instead of one each.
  if (output_.empty() || write_waiting_ || flush_scheduled_) return;
  flush_scheduled_ = true;
  loop_->Post([self = shared_from_this()] {
    self->flush_scheduled_ = false;
    if (self->closed_ || self->write_waiting_) return;
    self->Flush();
    if (self->closed_) return;
    self->DispatchBuffered();  // writing may have lifted a pause
    if (self->closed_) return;
    self->UpdateInterest();
  });
}

void Connection::ReleaseReadyResponses() {
  while (!pending_.empty() && pending_.front().state != Pending::State::kWaiting) {
    if (pending_.front().state == Pending::State::kReady) {
      output_.PushFrame(std::move(pending_.front().payload));
      context_->counters->frames_sent.fetch_add(1, std::memory_order_relaxed);
    }
    pending_.pop_front();
    ++first_pending_sequence_;
  }
}

void Connection::Flush() {
  if (output_.empty()) {
    write_waiting_ = false;
    return;
  }
  // Read before writing: once the peer holds the bytes, the activity is already recorded, so a
  // test's manual clock moved after the peer reads cannot date it later.
  const int64_t now_ns = context_->idle_clock_ns();
  OutputQueue::WriteResult result = output_.WriteTo(fd_, kWriteBudgetBytes);
  if (result.bytes_written > 0) {
    last_activity_ns_ = now_ns;
    context_->counters->bytes_sent.fetch_add(result.bytes_written, std::memory_order_relaxed);
    AddQueuedBytes(-result.bytes_written);
  }
  switch (result.kind) {
    case OutputQueue::WriteResult::Kind::kDrained:
      write_waiting_ = false;
      break;
    case OutputQueue::WriteResult::Kind::kBlocked:
    case OutputQueue::WriteResult::Kind::kBudgetExhausted:
      write_waiting_ = true;  // level-triggered EPOLLOUT reports when to continue
      break;
    case OutputQueue::WriteResult::Kind::kError:
      Close(result.error, !IsRoutineDisconnect(result.error_number));
      break;
  }
}

void Connection::UpdateInterest() {
  uint32_t want = EPOLLRDHUP;
  if (CanDispatch()) want |= EPOLLIN;
  if (write_waiting_) want |= EPOLLOUT;
  if (want == interest_) return;
  absl::Status status = loop_->ModifyFd(fd_, want, this);
  if (!status.ok()) {
    Close(status.ToString(), /*log=*/true);
    return;
  }
  interest_ = want;
}

void Connection::AddQueuedBytes(int64_t delta) {
  queued_bytes_ += delta;
  context_->counters->queued_response_bytes.fetch_add(delta, std::memory_order_relaxed);
}

void Connection::Close(absl::string_view reason, bool log) {
  if (closed_) return;
  closed_ = true;
  if (log) {
    LogServerEvent("connection_closed", absl::StrCat("conn=", info_.id, " peer=", info_.peer,
                                                     " reason=\"", reason, "\""));
  }
  loop_->RemoveFd(fd_);
  ::close(fd_);
  if (admitted_ && admission_) {  // before the close is counted: tests wait on that counter
    admitted_ = false;
    admission_->Release(PeerAddress(info_.peer));
  }
  context_->counters->connections_closed.fetch_add(1, std::memory_order_relaxed);
  context_->counters->requests_in_flight.fetch_sub(waiting_, std::memory_order_relaxed);
  waiting_ = 0;
  AddQueuedBytes(-queued_bytes_);
  pending_.clear();
  output_.Clear();
  reader_.Clear();
  auto it = context_->open.find(info_.id);
  if (it != context_->open.end()) {
    // The map may hold the last reference, and we are inside a member function (and possibly
    // referenced by a later event of this epoll batch): destroy after the round.
    loop_->ReleaseAfterEvents(std::move(it->second));
    context_->open.erase(it);
  }
  context_->handler->OnDisconnect(info_);
}

}  // namespace varve::server
