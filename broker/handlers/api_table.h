#pragma once

// The APIs the broker serves and the versions it advertises in ApiVersions (reference §4.0:
// low minimums keep librdkafka's features on; everything non-flexible except ApiVersions v3).
// An API is listed only once it works: the dispatcher closes the connection for anything else,
// as Kafka does for requests it cannot parse.

#include <cstdint>
#include <vector>

#include "broker/handlers/handlers.h"

namespace varve::broker {

struct ApiEntry {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
  void (*handler)(RequestPtr);
};

const std::vector<ApiEntry>& SupportedApis();
// nullptr if the key is not served.
const ApiEntry* FindApi(int16_t api_key);

}  // namespace varve::broker
