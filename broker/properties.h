#pragma once

// Java-style .properties parsing, as Kafka's server.properties is written: `key=value`,
// `key: value` or `key value`; `#` and `!` start comment lines; a line ending in an odd number
// of backslashes continues on the next; `\t`, `\n`, `\r`, `\f`, `\uXXXX` and `\<char>` escapes.
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<Property> props, ParseProperties(text, "server.properties"));
//   for (const Property& p : props) Use(p.key, p.value, p.source);  // "server.properties:3"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace varve::broker {

struct Property {
  std::string key;
  std::string value;
  std::string source;  // "<file>:<line>" or "--override", for error messages
};

// InvalidArgument naming source and line for a malformed escape or an empty key.
absl::StatusOr<std::vector<Property>> ParseProperties(absl::string_view text,
                                                      absl::string_view source_name);

// Parses one `--override key=value` argument.
absl::StatusOr<Property> ParseOverride(absl::string_view arg);

}  // namespace varve::broker
