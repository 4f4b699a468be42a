#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/data_dir.h"
#include "app/event_import.h"
#include "app/offline_store.h"
#include "base/clock.h"
#include "event/event_codec.h"
#include "event/timestamp.h"
#include "query/executor.h"
#include "query/spec.h"
#include "services/market_service.h"
#include "services/user_data_service.h"
#include "state/state_store.h"
#include "store/column_batch.h"

namespace ca::app {
namespace {

struct StoreFlags {
  std::string data = "./data";
  std::string tenant;
  std::string file;
};

std::unique_ptr<OfflineStore> OpenOrFail(const Config& config, OfflineStore::Mode mode) {
  auto s = OfflineStore::Open(config, mode);
  if (!s.ok()) Fail(s.status());
  return std::move(s).value();
}

// Offline commands honour the same CA_* settings as the server (e.g. CA_INGEST_DEDUP_MAX_IDS
// for `import events`).
std::unique_ptr<OfflineStore> OpenOrFail(const std::string& data, OfflineStore::Mode mode) {
  auto s = OfflineStore::Open(OfflineConfig(data), mode);
  if (!s.ok()) Fail(s.status());
  return std::move(s).value();
}

Result<std::string> ReadInput(const std::string& path) {
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kNotFound, "cannot open " + path);
  buffer << in.rdbuf();
  return buffer.str();
}

// Every stored event of `tenant` as JSON lines, in the order of the store's scan.
Status DumpTenant(const store::TenantSnapshot& snap, const std::string& tenant, std::ostream& out) {
  using store::Column;
  store::ScanRequest request;
  request.from_ms = 0;
  request.to_ms = INT64_MAX;
  request.columns = store::ColumnSet::All();
  return snap.Scan(request, [&](const store::ColumnBatch& b) {
    for (size_t i = 0; i < b.size(); ++i) {
      event::Event e;
      e.tenant = tenant;
      e.event_id = b.event_id[i];
      e.type = std::string(snap.Name(Column::kType, b.Ids(Column::kType)[i]));
      e.user_id = std::string(snap.Name(Column::kUser, b.Ids(Column::kUser)[i]));
      e.anonymous_id = std::string(snap.Name(Column::kAnonymous, b.Ids(Column::kAnonymous)[i]));
      e.session_id = std::string(snap.Name(Column::kSession, b.Ids(Column::kSession)[i]));
      e.timestamp_ms = b.timestamp[i];
      e.received_at_ms = b.received_at[i];
      e.properties_json = b.properties[i];
      e.context_json = b.context[i];
      out << event::EventToJson(e) << '\n';
    }
    return Status::Ok();
  });
}

void AddQuery(CLI::App* app) {
  auto flags = std::make_shared<StoreFlags>();
  CLI::App* cmd = app->add_subcommand(
      "query",
      "Run a query spec (docs/api/query.md) over a data directory while no server runs; prints "
      "the same JSON as POST /analytics/query");
  cmd->add_option("--data", flags->data, "data directory")->capture_default_str();
  cmd->add_option("--tenant", flags->tenant, "tenant whose events to query")->required();
  cmd->add_option("--spec", flags->file, "file holding the JSON spec ('-' for stdin)")->required();
  cmd->callback([flags] {
    auto text = ReadInput(flags->file);
    if (!text.ok()) Fail(text.status());
    auto spec = query::ParseQuerySpec(*text);
    if (!spec.ok()) Fail(spec.status());
    const Config config = OfflineConfig(flags->data);
    auto offline = OpenOrFail(config, OfflineStore::Mode::kReadOnly);
    query::ExecOptions options;
    options.max_memory_bytes = config.query_max_memory_mb << 20;
    auto result = query::Execute(*offline->store()->Snapshot(flags->tenant), *spec, options);
    if (!result.ok()) Fail(result.status());
    std::cout << result->dump() << std::endl;
  });
}

// The tenant to import into: --tenant, else the only tenant with keys besides the server's own.
std::string ImportTenant(state::StateStore* state, const std::string& given, const Config& config) {
  if (!given.empty()) return given;
  auto tenants = state->ListTenants();
  if (!tenants.ok()) Fail(tenants.status());
  std::vector<std::string> names;
  for (const state::Tenant& t : *tenants) {
    if (t.name != config.self_telemetry_tenant) names.push_back(t.name);
  }
  if (names.size() == 1) return names.front();
  std::string listed;
  for (const std::string& n : names) listed += (listed.empty() ? "" : ", ") + n;
  Fail(InvalidArgument(names.empty()
                           ? "no tenant yet: create one with `keys create`"
                           : "several tenants (" + listed + "): say which with --tenant"));
  return {};
}

// `import market|benchmarks|indicators`: external data into the state store (works while a
// server runs; its cached trends follow within their TTL, POST /analytics/external at once).
void AddExternalImport(CLI::App* import, services::ExternalDataset dataset) {
  struct Flags {
    std::string data = "./data";
    std::string tenant;
    std::string file;
    std::string format;
  };
  auto flags = std::make_shared<Flags>();
  const std::string name(services::ExternalDatasetName(dataset));
  CLI::App* cmd = import->add_subcommand(
      name, "Load " + name +
                " data (CSV with a header, or JSON / JSON lines; docs/api/market-data.md) into "
                "the state store. Prints a receipt with the rejected rows and their line numbers.");
  cmd->add_option("--data", flags->data, "data directory")->capture_default_str();
  cmd->add_option("--tenant", flags->tenant, "tenant (default: the only one)");
  cmd->add_option("--file", flags->file, "CSV or JSON file ('-' for stdin)")->required();
  cmd->add_option("--format", flags->format, "csv or json (default: from the file name)")
      ->check(CLI::IsMember({"csv", "json"}));
  cmd->callback([flags, dataset] {
    std::optional<services::ExternalFormat> format =
        flags->format.empty() ? services::ExternalFormatForPath(flags->file)
                              : services::ParseExternalFormat(flags->format);
    if (!format) Fail(InvalidArgument("--format csv|json is needed for " + flags->file));
    std::string body;
    if (flags->file == "-") {
      body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(flags->file, std::ios::binary);
      if (!in) Fail(Status(ErrorCode::kNotFound, "cannot read " + flags->file));
      body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const Config config = OfflineConfig(flags->data);
    auto state = OpenState(config);
    if (!state.ok()) Fail(state.status());
    const std::string tenant = ImportTenant(state->get(), flags->tenant, config);
    services::MarketService market(state->get(), nullptr);
    auto receipt = market.Import(tenant, dataset, *format, body);
    if (!receipt.ok()) Fail(receipt.status());
    (*receipt)["tenant"] = tenant;
    std::cout << receipt->dump() << std::endl;
  });
}

void AddImport(CLI::App* app) {
  CLI::App* import = app->add_subcommand("import", "Bulk-load data into a data directory");
  import->require_subcommand(1);
  auto flags = std::make_shared<StoreFlags>();
  CLI::App* events = import->add_subcommand(
      "events",
      "Load native events, one JSON object per line, through the same validation and "
      "deduplication as the ingest API (stop the server first). Prints a receipt.");
  events->add_option("--data", flags->data, "data directory")->capture_default_str();
  events->add_option("--tenant", flags->tenant, "tenant the events belong to")->required();
  events->add_option("--file", flags->file, "JSON lines file ('-' for stdin)")->required();
  events->callback([flags] {
    ImportOptions options;
    options.config = OfflineConfig(flags->data);
    options.tenant = flags->tenant;
    options.path = flags->file;
    auto receipt = ImportEvents(options, std::cerr);
    if (!receipt.ok()) Fail(receipt.status());
    std::cout << receipt->ToJson() << std::endl;
  });
  for (services::ExternalDataset dataset :
       {services::ExternalDataset::kMarket, services::ExternalDataset::kBenchmarks,
        services::ExternalDataset::kIndicators}) {
    AddExternalImport(import, dataset);
  }
}

void AddStore(CLI::App* app) {
  CLI::App* store_cmd = app->add_subcommand("store", "Inspect the event store");
  store_cmd->require_subcommand(1);
  auto flags = std::make_shared<StoreFlags>();

  CLI::App* verify = store_cmd->add_subcommand(
      "verify", "Check every part's checksums and contents; prints each problem and where it is");
  verify->add_option("--data", flags->data, "data directory")->capture_default_str();
  verify->callback([flags] {
    auto offline = OpenOrFail(flags->data, OfflineStore::Mode::kReadOnly);
    auto problems = offline->store()->Verify();
    auto stats = offline->store()->stats();
    for (const auto& p : problems) std::cout << p << '\n';
    if (!problems.empty()) {
      Fail(Status(ErrorCode::kCorruption, std::to_string(problems.size()) + " damaged part(s)"));
    }
    std::cout << "ok: " << stats.parts << " parts, " << stats.part_rows << " rows in parts, "
              << stats.memtable_rows << " in the WAL only" << std::endl;
  });

  CLI::App* stats = store_cmd->add_subcommand("stats",
                                              "Print the store's size as JSON: parts, rows, bytes, "
                                              "bytes per event and encodings by column");
  stats->add_option("--data", flags->data, "data directory")->capture_default_str();
  stats->callback([flags] {
    auto offline = OpenOrFail(flags->data, OfflineStore::Mode::kReadOnly);
    auto s = offline->store()->stats();
    auto columns = offline->store()->ColumnUsages();
    nlohmann::ordered_json per_column, blocks;
    double rows = s.part_rows > 0 ? static_cast<double>(s.part_rows) : 1.0;
    for (size_t c = 0; c < columns.size(); ++c) {
      const std::string name(store::ColumnName(static_cast<store::Column>(c)));
      per_column[name] = static_cast<double>(columns[c].bytes) / rows;
      blocks[name] = columns[c].blocks;
    }
    nlohmann::ordered_json out = {{"parts", s.parts},
                                  {"part_rows", s.part_rows},
                                  {"part_bytes", s.part_bytes},
                                  {"rows_only_in_wal", s.memtable_rows},
                                  {"bytes_per_event", static_cast<double>(s.part_bytes) / rows},
                                  {"bytes_per_event_by_column", per_column},
                                  {"blocks_by_encoding", blocks}};
    std::cout << out.dump(2) << std::endl;
  });

  CLI::App* dump = store_cmd->add_subcommand(
      "dump", "Print every stored event of a tenant (or of all tenants), one JSON object per line");
  dump->add_option("--data", flags->data, "data directory")->capture_default_str();
  dump->add_option("--tenant", flags->tenant, "only this tenant");
  dump->callback([flags] {
    auto offline = OpenOrFail(flags->data, OfflineStore::Mode::kReadOnly);
    std::vector<std::string> tenants;
    if (!flags->tenant.empty()) {
      tenants.push_back(flags->tenant);
    } else {
      tenants = offline->store()->Tenants();
    }
    for (const auto& t : tenants) {
      if (Status s = DumpTenant(*offline->store()->Snapshot(t), t, std::cout); !s.ok()) Fail(s);
    }
    std::cout.flush();
  });
}

void AddCompact(CLI::App* app) {
  auto flags = std::make_shared<StoreFlags>();
  CLI::App* cmd = app->add_subcommand(
      "compact",
      "Write every event into parts, remove deleted users' events physically, merge each day's "
      "parts into one and apply retention (stop the server first)");
  cmd->add_option("--data", flags->data, "data directory")->capture_default_str();
  cmd->callback([flags] {
    auto offline = OpenOrFail(flags->data, OfflineStore::Mode::kWritable);
    if (Status s = offline->store()->Compact(NowMillis()); !s.ok()) Fail(s);
    if (Status s = offline->Close(); !s.ok()) Fail(s);
    auto stats = offline->store()->stats();
    std::cout << "ok: " << stats.parts << " parts, " << stats.part_rows << " rows, "
              << stats.part_bytes << " bytes" << std::endl;
  });
}

void AddDeleteUser(CLI::App* app) {
  auto flags = std::make_shared<StoreFlags>();
  auto user = std::make_shared<std::string>();
  CLI::App* cmd = app->add_subcommand(
      "delete-user",
      "Delete one user's events (GDPR): masked from every query at once, physically removed by "
      "the next rewrite (`compact` forces it). Prints the deletion receipt. Stop the server "
      "first.");
  cmd->add_option("--data", flags->data, "data directory")->capture_default_str();
  cmd->add_option("--tenant", flags->tenant, "tenant")->required();
  cmd->add_option("--user", *user, "user_id to delete")->required();
  cmd->callback([flags, user] {
    auto offline = OpenOrFail(flags->data, OfflineStore::Mode::kWritable);
    auto receipt = offline->store()->DeleteUser(flags->tenant, *user, NowMillis());
    if (!receipt.ok()) Fail(receipt.status());
    if (Status s = offline->Close(); !s.ok()) Fail(s);
    // Outside the event store: the user's traits go, and the id joins the suppression list so
    // that their events are not taken in again (docs/privacy.md).
    auto state = OpenStateOrFail(flags->data);
    if (Status s = state->ForgetUser(flags->tenant, *user); !s.ok()) Fail(s);
    if (Status s = state->SuppressUsers(flags->tenant, {*user}, NowMillis()); !s.ok()) Fail(s);
    std::cout << services::DeletionReceiptJson(*receipt).dump() << std::endl;
  });

  CLI::App* list = app->add_subcommand("deletions", "List the deletion receipts as JSON lines");
  list->add_option("--data", flags->data, "data directory")->capture_default_str();
  list->callback([flags] {
    auto offline = OpenOrFail(flags->data, OfflineStore::Mode::kReadOnly);
    for (const auto& r : offline->store()->Deletions())
      std::cout << services::DeletionReceiptJson(r).dump() << '\n';
    std::cout.flush();
  });
}

void AddTenants(CLI::App* app) {
  auto flags = std::make_shared<StoreFlags>();
  auto days = std::make_shared<int>(0);
  CLI::App* tenants = app->add_subcommand("tenants", "Tenant settings");
  tenants->require_subcommand(1);
  CLI::App* retention = tenants->add_subcommand(
      "retention",
      "Set how many days of raw events a tenant keeps (0 = forever); older days are dropped "
      "whole within a minute by a running server, or by `compact`. Works while a server runs.");
  retention->add_option("--data", flags->data, "data directory")->capture_default_str();
  retention->add_option("--tenant", flags->tenant, "tenant")->required();
  retention->add_option("--days", *days, "days to keep, 0 for forever")->required();
  retention->callback([flags, days] {
    auto state = OpenStateOrFail(flags->data);
    if (Status s = state->SetTenantRetention(flags->tenant, *days); !s.ok()) Fail(s);
    std::cout << nlohmann::ordered_json{{"tenant", flags->tenant}, {"retention_days", *days}}.dump()
              << std::endl;
  });

  struct PolicyFlags {
    std::optional<std::string> consent, raw_ip, pii_allow;
    std::optional<int> late_days;
  };
  auto policy_flags = std::make_shared<PolicyFlags>();
  CLI::App* policy = tenants->add_subcommand(
      "policy",
      "Show or change a tenant's ingest policy: what happens to events without consent, how late "
      "an event may arrive, raw IPs and PII-scrubbing exceptions (docs/privacy.md). Prints the "
      "policy as JSON. A running server applies a change within a second.");
  policy->add_option("--data", flags->data, "data directory")->capture_default_str();
  policy->add_option("--tenant", flags->tenant, "tenant")->required();
  policy->add_option("--consent", policy_flags->consent,
                     "events without consent or with Do-Not-Track: drop or anonymize");
  policy->add_option("--late-days", policy_flags->late_days,
                     "oldest accepted event, in days before its arrival (1 to 3650)");
  policy->add_option("--raw-ip", policy_flags->raw_ip,
                     "keep (store context.ip whole), truncate, or server (privacy.ip decides)");
  policy->add_option("--pii-allow", policy_flags->pii_allow,
                     "comma-separated keys never scrubbed (\"\" for none)");
  policy->callback([flags, policy_flags] {
    auto state = OpenStateOrFail(flags->data);
    auto tenant = state->FindTenant(flags->tenant);
    if (!tenant.ok()) Fail(tenant.status());
    if (!tenant->has_value())
      Fail(Status(ErrorCode::kNotFound, "no tenant '" + flags->tenant + "'"));
    state::IngestPolicy p = (*tenant)->policy;
    const PolicyFlags& f = *policy_flags;
    if (f.consent) p.consent = *f.consent;
    if (f.late_days) p.late_days = *f.late_days;
    if (f.raw_ip) {
      if (*f.raw_ip == "keep") {
        p.keep_raw_ip = true;
      } else if (*f.raw_ip == "truncate") {
        p.keep_raw_ip = false;
      } else if (*f.raw_ip == "server") {
        p.keep_raw_ip.reset();
      } else {
        Fail(Status(ErrorCode::kInvalidArgument, "--raw-ip: keep, truncate or server"));
      }
    }
    if (f.pii_allow) {
      p.pii_allowed_keys.clear();
      std::string_view rest = *f.pii_allow;
      while (!rest.empty()) {
        const size_t comma = std::min(rest.find(','), rest.size());
        if (comma > 0) p.pii_allowed_keys.emplace_back(rest.substr(0, comma));
        rest.remove_prefix(std::min(comma + 1, rest.size()));
      }
    }
    if (f.consent || f.late_days || f.raw_ip || f.pii_allow) {
      if (Status s = state->SetIngestPolicy(flags->tenant, p); !s.ok()) Fail(s);
    }
    std::cout << nlohmann::ordered_json{{"tenant", flags->tenant},
                                        {"consent", p.consent},
                                        {"late_days", p.late_days},
                                        {"raw_ip", !p.keep_raw_ip   ? "server"
                                                   : *p.keep_raw_ip ? "keep"
                                                                    : "truncate"},
                                        {"pii_allowed_keys", p.pii_allowed_keys}}
                     .dump()
              << std::endl;
  });
}

}  // namespace

void AddStoreCommands(CLI::App* app) {
  AddDeleteUser(app);
  AddTenants(app);
  AddQuery(app);
  AddImport(app);
  AddStore(app);
  AddCompact(app);
}

}  // namespace ca::app
