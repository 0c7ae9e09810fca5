// varve-dump: the offline segment inspector. Usage: varve-dump --help; docs/tools.md.

#include <iostream>
#include <string>
#include <vector>

#include "tools/varve_dump.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  const std::vector<std::string> args(argv + 1, argv + argc);
  return varve::dump::RunVarveDump(args, std::cout, std::cerr);
}
