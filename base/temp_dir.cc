#include "base/temp_dir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace varve {

TempDir::TempDir() {
  const char* root = getenv("TEST_TMPDIR");
  if (root == nullptr || *root == '\0') root = "/tmp";
  std::string templ = std::string(root) + "/varve-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp under " + std::string(root) + ": " + strerror(errno));
  }
  path_ = templ;
}

TempDir::~TempDir() { RemoveTree(path_); }

void RemoveTree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p) == 0 ? 0 : 0; },
      16, FTW_DEPTH | FTW_PHYS);
}

}  // namespace varve
