#include "broker/server/server_log.h"

#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace varve::server {

void LogServerEvent(absl::string_view event, absl::string_view fields) {
  std::string line = absl::StrCat("varve-server event=", event, " ", fields, "\n");
  // One write so concurrent records stay whole lines; a failed write to stderr has no remedy.
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace varve::server
