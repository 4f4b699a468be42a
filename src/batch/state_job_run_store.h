#pragma once

#include "batch/scheduler.h"
#include "state/state_store.h"

namespace ca::batch {

/// The scheduler's runs kept in the state store (table job_runs), so that last runs and
/// catch-up survive restarts.
class StateJobRunStore final : public JobRunStore {
 public:
  explicit StateJobRunStore(state::StateStore* state) : state_(state) {}

  Result<std::optional<JobRun>> LastRun(std::string_view job) override;
  Status RecordRun(std::string_view job, const JobRun& run) override;

 private:
  state::StateStore* const state_;
};

}  // namespace ca::batch
