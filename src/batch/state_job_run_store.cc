#include "batch/state_job_run_store.h"

namespace ca::batch {

Result<std::optional<JobRun>> StateJobRunStore::LastRun(std::string_view job) {
  CA_ASSIGN_OR_RETURN(std::vector<state::JobRunRow> runs, state_->ListJobRuns(job, 1));
  if (runs.empty()) return std::optional<JobRun>();
  const state::JobRunRow& r = runs.front();
  return std::optional<JobRun>(JobRun{r.started_ms, r.finished_ms, r.ok, r.message});
}

Status StateJobRunStore::RecordRun(std::string_view job, const JobRun& run) {
  return state_->RecordJobRun(job, {run.started_ms, run.finished_ms, run.ok, run.message});
}

}  // namespace ca::batch
