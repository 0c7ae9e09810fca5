#pragma once

// One-line structured log records to stderr for the network layer:
//   varve-server event=<event> key=value ...
// Thread-safe (a single write(2) per record, so lines from different threads do not interleave).

#include "absl/strings/string_view.h"

namespace varve::server {

// Writes "varve-server event=<event> <fields>\n" to stderr. `fields` is preformatted
// `key=value` pairs separated by spaces; quote values that may hold spaces.
void LogServerEvent(absl::string_view event, absl::string_view fields);

}  // namespace varve::server
