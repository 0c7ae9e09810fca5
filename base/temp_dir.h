#pragma once

// A fresh directory under $TEST_TMPDIR (or /tmp) that is removed, with everything in it, when
// the object goes out of scope. For tests and benchmarks.

#include <string>

namespace varve {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Removes `path` and everything below it; missing paths are fine.
void RemoveTree(const std::string& path);

}  // namespace varve
