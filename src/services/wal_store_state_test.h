#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>

#include "state/sqlite_state_store.h"
#include "store/event_store.h"
#include "wal/wal.h"
#include "wal/wal_test_util.h"

namespace ca::services {

/// Test fixture: a WAL (no syncs), the event store reading it and a SQLite state store, in a fresh
/// temporary directory: what the services that read events and state run on in the server.
class WalStoreStateTest : public ::testing::Test {
 protected:
  /// Opens the three and starts the store; `tenants` are created in the state store.
  void OpenWalStoreState(std::initializer_list<const char*> tenants = {"acme"}) {
    wal_options_.dir = dir_.path() + "/wal";
    wal_options_.sync = wal::SyncMode::kNone;
    store_options_.dir = dir_.path() + "/store";
    store_options_.poll_interval_ms = 5;
    state_ = std::move(state::OpenSqliteStateStore(dir_.path() + "/state.db")).value();
    for (const char* tenant : tenants) ASSERT_TRUE(state_->GetOrCreateTenant(tenant).ok());
    wal_ = std::move(wal::Wal::Open(wal_options_)).value();
    store_ = std::move(store::EventStore::Open(store_options_, wal_options_, wal_.get())).value();
    ASSERT_TRUE(store_->Start().ok());
  }

  /// Closes the store, then the WAL (whatever reads them must have stopped).
  void CloseWalStoreState() {
    EXPECT_TRUE(store_->Close().ok());
    EXPECT_TRUE(wal_->Close().ok());
  }

  wal::testing::TempDir dir_;
  wal::Options wal_options_;
  store::StoreOptions store_options_;
  std::unique_ptr<state::StateStore> state_;
  std::unique_ptr<wal::Wal> wal_;
  std::unique_ptr<store::EventStore> store_;
};

}  // namespace ca::services
