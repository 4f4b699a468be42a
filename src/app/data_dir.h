#pragma once

#include <string>

#include "io/env.h"

namespace ca::app {

/// Where things live inside a data directory.
struct DataDir {
  std::string root;
  std::string wal() const { return io::JoinPath(root, "wal"); }
  std::string store() const { return io::JoinPath(root, "store"); }
  std::string state_db() const { return io::JoinPath(root, "state.db"); }
  std::string lock_file() const { return io::JoinPath(root, "LOCK"); }
};

}  // namespace ca::app
