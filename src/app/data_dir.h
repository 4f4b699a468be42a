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
  /// Open sessions kept from the last stop to the next start (docs/formats/sessions.md).
  std::string sessions() const { return io::JoinPath(root, "sessions"); }
};

}  // namespace ca::app
