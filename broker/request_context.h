#pragma once

// What every API handler gets: the request (its frame owns the bytes the decoded message views),
// the slot to answer through, the decoded header, and the broker's services.
//
// Handlers run on a loop thread and must not block; a handler that waits (acks=-1, long-poll
// fetch) moves its RequestContext into shared state and answers from a callback.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/broker_config.h"
#include "broker/metadata_store.h"
#include "broker/protocol/wire.h"
#include "broker/server/request_handler.h"
#include "broker/topics.h"

namespace varve::server {
class TimerQueue;
}
namespace varve::broker::group {
class GroupCoordinator;
}

namespace varve::broker {

class BrokerMetrics;

// Schedules callbacks after a delay on a timer thread (never a loop thread). Cancel returns
// false if the callback already ran or is running.
class Timers {
 public:
  virtual ~Timers() = default;
  virtual uint64_t Schedule(int64_t delay_ms, std::function<void()> fn) = 0;
  virtual bool Cancel(uint64_t id) = 0;
};

struct Services {
  const BrokerConfig* config = nullptr;
  Endpoint advertised;  // the address Metadata gives clients (the bound port when not set)
  TopicManager* topics = nullptr;
  MetadataStore* store = nullptr;
  Timers* timers = nullptr;
  BrokerMetrics* metrics = nullptr;
  group::GroupCoordinator* coordinator = nullptr;  // consumer groups and committed offsets
};

struct RequestContext {
  server::Request request;
  server::ResponseSlot slot;
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::string client_id;
  size_t body_offset = 0;  // where the body starts in request.frame
  const Services* services = nullptr;

  // A reader over the body; positions in its errors count from the start of the body.
  protocol::Reader BodyReader() {
    return protocol::Reader(
        absl::Span<char>(request.frame.data() + body_offset, request.frame.size() - body_offset));
  }
};

// Closes the connection of a request that could not be parsed, logging why. (Bytes after a
// complete body are ignored, as Kafka does.)
void CloseMalformed(RequestContext& ctx, const absl::Status& why);

// Starts a response: the response header for the context's API and version.
protocol::OutputBuffer StartResponse(const RequestContext& ctx);
// Sends an encoded response (header + body) through the context's slot.
void SendOutput(RequestContext& ctx, protocol::OutputBuffer out);

// Encodes the response header and `response` at the request's version, and sends them.
template <typename Response>
void SendResponse(RequestContext& ctx, const Response& response) {
  protocol::OutputBuffer out = StartResponse(ctx);
  protocol::Writer writer(&out);
  response.Encode(writer, ctx.api_version);
  SendOutput(ctx, std::move(out));
}

// Decodes the body as `Request` at the context's version. On failure the connection is closed
// with the reason (what Kafka does with a request it cannot parse) and false is returned.
template <typename Request>
bool DecodeOrClose(RequestContext& ctx, Request* request) {
  protocol::Reader reader = ctx.BodyReader();
  absl::Status s = request->Decode(reader, ctx.api_version);
  if (!s.ok()) {
    CloseMalformed(ctx, s);
    return false;
  }
  return true;
}

}  // namespace varve::broker
