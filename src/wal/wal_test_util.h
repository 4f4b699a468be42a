#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "io/env.h"
#include "wal/wal.h"

namespace ca::wal::testing {

/// A fresh directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "ca_wal_test_XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Waits for one callback.
class Waiter {
 public:
  Callback callback() {
    return [this](const Status& s) {
      std::lock_guard lock(mu_);
      status_ = s;
      done_ = true;
      cv_.notify_all();
    };
  }
  Status Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    return status_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  Status status_;
};

/// Appends `payloads` and waits for the callback; returns the Append error or the callback's.
inline Status AppendAndWait(Wal* wal, std::vector<std::string_view> payloads, Lsn* end = nullptr) {
  Waiter w;
  auto r = wal->Append(payloads, w.callback());
  if (!r.ok()) return r.status();
  if (end != nullptr) *end = *r;
  return w.Wait();
}

/// Every record from `from`, offline (or live when `live` is set).
inline Result<std::vector<std::pair<Lsn, std::string>>> ReadAll(const Options& options,
                                                                Lsn from = 0,
                                                                const Wal* live = nullptr) {
  CA_ASSIGN_OR_RETURN(auto reader, Reader::Open(options, from, live));
  std::vector<std::pair<Lsn, std::string>> out;
  while (true) {
    Lsn lsn;
    std::string payload;
    CA_ASSIGN_OR_RETURN(bool more, reader->Next(&lsn, &payload));
    if (!more) break;
    out.emplace_back(lsn, std::move(payload));
  }
  return out;
}

}  // namespace ca::wal::testing
