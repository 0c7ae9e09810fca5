// ResponseSlot (declared in request_handler.h): completion posts to the connection's loop.

#include <cassert>
#include <utility>

#include "broker/server/connection.h"
#include "broker/server/request_handler.h"

namespace varve::server {

ResponseSlot& ResponseSlot::operator=(ResponseSlot&& other) noexcept {
  if (this != &other) {
    if (connection_ != nullptr) {
      Complete(Kind::kClose, ResponsePayload(), "response slot overwritten without a response");
    }
    connection_ = std::move(other.connection_);
    sequence_ = other.sequence_;
  }
  return *this;
}

ResponseSlot::~ResponseSlot() {
  if (connection_ != nullptr) {
    Complete(Kind::kClose, ResponsePayload(),
             "response slot destroyed without a response (handler bug)");
  }
}

uint64_t ResponseSlot::connection_id() const {
  return connection_ == nullptr ? 0 : connection_->info().id;
}

void ResponseSlot::Send(ResponsePayload payload) {
  assert(connection_ != nullptr && "ResponseSlot completed twice");
  if (connection_ != nullptr) Complete(Kind::kSend, std::move(payload), std::string());
}

void ResponseSlot::SendNothing() {
  assert(connection_ != nullptr && "ResponseSlot completed twice");
  if (connection_ != nullptr) Complete(Kind::kNothing, ResponsePayload(), std::string());
}

void ResponseSlot::Close(std::string reason) {
  assert(connection_ != nullptr && "ResponseSlot completed twice");
  if (connection_ != nullptr) Complete(Kind::kClose, ResponsePayload(), std::move(reason));
}

void ResponseSlot::Complete(Kind kind, ResponsePayload payload, std::string reason) {
  std::shared_ptr<Connection> connection = std::move(connection_);
  // Held here because the task may own the last reference to the loop: if Post fails it
  // destroys the task before returning, and the loop must outlive its own Post call.
  std::shared_ptr<EventLoop> loop = connection->loop();
  loop->Post([connection = std::move(connection), sequence = sequence_, kind,
              payload = std::move(payload), reason = std::move(reason)]() mutable {
    connection->Complete(sequence, kind, std::move(payload), std::move(reason));
  });
}

}  // namespace varve::server
