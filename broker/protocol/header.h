#pragma once

// Request and response headers (reference §3.2): which header version goes with an API version,
// the APIs the schemas define, and decoding a request's header from the start of its frame.
//
// Example (a request frame without its size prefix):
//   Reader reader(absl::MakeSpan(frame));
//   RequestHeader header;
//   RETURN_IF_ERROR(DecodeRequestHeader(reader, &header));
//   if (!IsKnownApiKey(header.request_api_key)) return CloseConnection();
//   ... decode the body with the same reader at header.request_api_version ...
//   const int16_t response_header_version =
//       ResponseHeaderVersion(header.request_api_key, header.request_api_version);
//
// The tables come from the schemas (generated/api_table.h); nothing here knows which versions
// the broker advertises.

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "broker/protocol/generated/request_header.h"
#include "broker/protocol/generated/response_header.h"
#include "broker/protocol/wire.h"

namespace varve::protocol {

struct ApiVersionRange {
  int16_t min;
  int16_t max;
};

// Whether the schemas define this API (request and response).
bool IsKnownApiKey(int16_t api_key);

// The API's schema name without "Request", e.g. "Produce", "ApiVersions"; "Unknown" for an
// unknown key.
const char* ApiKeyName(int16_t api_key);

// The versions the schemas define (validVersions) for the API; nullopt for an unknown key.
std::optional<ApiVersionRange> SchemaVersions(int16_t api_key);

// Whether `api_version` of the API uses the flexible encoding (it is at or above the API's first
// flexibleVersion). Versions above the schema's range count as flexible when the API has any
// flexible version, as in Kafka. False for an unknown key.
bool IsFlexibleVersion(int16_t api_key, int16_t api_version);

// Request header version: 2 for flexible API versions, else 1; 0 for ControlledShutdown v0 (only
// if its schema is present). Unknown keys get 1.
int16_t RequestHeaderVersion(int16_t api_key, int16_t api_version);

// Response header version: 1 for flexible API versions, else 0; always 0 for ApiVersions
// (KIP-511: a client must be able to read the response to any ApiVersions request). Unknown keys
// get 0.
int16_t ResponseHeaderVersion(int16_t api_key, int16_t api_version);

// Decodes a request header from the start of `reader`: peeks at the API key and version, picks the
// header version with RequestHeaderVersion, and decodes. The reader is left at the body.
// InvalidArgument for malformed input (a frame shorter than the header, a bad ClientId length, a
// bad tagged-field section in a v2 header).
absl::Status DecodeRequestHeader(Reader& reader, RequestHeader* header);

}  // namespace varve::protocol
