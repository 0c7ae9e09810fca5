#pragma once

// A blocking Kafka protocol client for the broker's tests, built on the codec: encodes a
// request with its header, sends it, and decodes the response. Every wait is bounded.
//
// Example:
//   ASSIGN_OR_RETURN(KafkaClient client, KafkaClient::Connect(port));
//   protocol::MetadataRequest request;
//   ASSIGN_OR_RETURN(protocol::MetadataResponse response,
//                    client.Call<protocol::MetadataResponse>(3, 7, request));

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "broker/protocol/header.h"
#include "broker/protocol/wire.h"
#include "broker/server/test_client.h"

namespace varve::broker {

class KafkaClient {
 public:
  static absl::StatusOr<KafkaClient> Connect(int port) {
    absl::StatusOr<server::TestClient> conn = server::TestClient::Connect(port);
    if (!conn.ok()) return conn.status();
    return KafkaClient(std::move(*conn));
  }

  // Sends `request` as API `key` version `version`; returns its correlation id.
  template <typename Request>
  absl::StatusOr<int32_t> Send(int16_t key, int16_t version, const Request& request) {
    protocol::OutputBuffer out;
    protocol::Writer writer(&out);
    protocol::RequestHeader header;
    header.request_api_key = key;
    header.request_api_version = version;
    header.correlation_id = ++correlation_id_;
    header.client_id = "varve-test";
    header.Encode(writer, protocol::RequestHeaderVersion(key, version));
    request.Encode(writer, version);
    absl::StatusOr<std::string> bytes = out.Flatten();
    if (!bytes.ok()) return bytes.status();
    if (absl::Status s = conn_.SendFrame(*bytes); !s.ok()) return s;
    return header.correlation_id;
  }

  // Reads the next response frame, checks its correlation id, decodes it as `Response`.
  template <typename Response>
  absl::StatusOr<Response> Receive(int16_t key, int16_t version, int32_t correlation_id,
                                   absl::Duration timeout = absl::Seconds(60)) {
    absl::StatusOr<std::string> frame = conn_.ReadFrame(timeout);
    if (!frame.ok()) return frame.status();
    last_frame_ = std::move(*frame);
    protocol::Reader reader(absl::MakeSpan(last_frame_));
    protocol::ResponseHeader header;
    if (absl::Status s = header.Decode(reader, protocol::ResponseHeaderVersion(key, version));
        !s.ok()) {
      return s;
    }
    if (header.correlation_id != correlation_id) {
      return absl::InternalError(
          absl::StrCat("correlation id ", header.correlation_id, ", expected ", correlation_id));
    }
    Response response;
    if (absl::Status s = response.Decode(reader, version); !s.ok()) return s;
    if (reader.remaining() != 0) {
      return absl::InternalError(absl::StrCat(reader.remaining(), " bytes after the response"));
    }
    return response;
  }

  template <typename Response, typename Request>
  absl::StatusOr<Response> Call(int16_t key, int16_t version, const Request& request) {
    absl::StatusOr<int32_t> id = Send(key, version, request);
    if (!id.ok()) return id.status();
    return Receive<Response>(key, version, *id);
  }

  server::TestClient& connection() { return conn_; }
  // The last response frame read (responses' Records view into it).
  const std::string& last_frame() const { return last_frame_; }

 private:
  explicit KafkaClient(server::TestClient conn) : conn_(std::move(conn)) {}
  server::TestClient conn_;
  int32_t correlation_id_ = 0;
  std::string last_frame_;
};

}  // namespace varve::broker
