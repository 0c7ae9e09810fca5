// ApiVersions (API 18), v0-v3: reference §3.4. The response header is v0 at every version
// (KIP-511). A request at a version above 3 is answered in the v0 format with
// UNSUPPORTED_VERSION and only the ApiVersions entry, so the client retries lower.

#include "broker/errors.h"
#include "broker/handlers/api_table.h"
#include "broker/protocol/generated/api_versions_request.h"
#include "broker/protocol/generated/api_versions_response.h"

namespace varve::broker {

void HandleApiVersions(RequestPtr ctx) {
  const ApiEntry* self = FindApi(18);
  protocol::ApiVersionsResponse response;
  if (ctx->api_version > self->max_version) {
    response.error_code = kUnsupportedVersion;
    auto& entry = response.api_keys.emplace_back();
    entry.api_key = 18;
    entry.min_version = self->min_version;
    entry.max_version = self->max_version;
    ctx->api_version = 0;  // encode the v0 body
    SendResponse(*ctx, response);
    return;
  }
  protocol::ApiVersionsRequest request;
  if (!DecodeOrClose(*ctx, &request)) return;
  for (const ApiEntry& e : SupportedApis()) {
    auto& entry = response.api_keys.emplace_back();
    entry.api_key = e.api_key;
    entry.min_version = e.min_version;
    entry.max_version = e.max_version;
  }
  SendResponse(*ctx, response);
}

}  // namespace varve::broker
