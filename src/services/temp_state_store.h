#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>

#include "state/sqlite_state_store.h"

namespace ca::services {

/// Test fixture: a SQLite state store in a fresh temporary directory, with the tenant "acme", and
/// a clock (`now_`) the services under test can be given.
class TempStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "ca_state_XXXXXX";
    dir_ = ::mkdtemp(tmpl.data());
    auto store = state::OpenSqliteStateStore(dir_ + "/state.db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->GetOrCreateTenant("acme").ok());
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string dir_;
  std::unique_ptr<state::StateStore> store_;
  int64_t now_ = 1000;
};

}  // namespace ca::services
