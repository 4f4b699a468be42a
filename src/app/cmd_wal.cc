#include <iostream>
#include <memory>

#include "app/commands.h"
#include "app/data_dir.h"
#include "event/event_codec.h"
#include "wal/wal.h"

namespace ca::app {
namespace {

wal::Options OfflineOptions(const std::string& data) {
  wal::Options options;
  options.dir = DataDir{data}.wal();
  return options;
}

// Prints every durable event as one JSON object per line; returns the count.
Result<uint64_t> Dump(const std::string& data, std::ostream& out) {
  // Segments below the event store's checkpoint are deleted: start at the oldest one left.
  CA_ASSIGN_OR_RETURN(wal::Lsn first, wal::OldestLsn(OfflineOptions(data)));
  CA_ASSIGN_OR_RETURN(auto reader, wal::Reader::Open(OfflineOptions(data), first));
  uint64_t count = 0;
  wal::Lsn lsn = 0;
  std::string payload;
  while (true) {
    CA_ASSIGN_OR_RETURN(bool more, reader->Next(&lsn, &payload));
    if (!more) break;
    auto e = event::DecodeEvent(payload);
    if (!e.ok()) return e.status().WithContext("record at lsn " + std::to_string(lsn));
    out << event::EventToJson(*e) << '\n';
    ++count;
  }
  out.flush();
  return count;
}

}  // namespace

void AddWalCommand(CLI::App* app) {
  CLI::App* wal_cmd = app->add_subcommand("wal", "Inspect and repair the write-ahead log");
  wal_cmd->require_subcommand(1);
  auto data = std::make_shared<std::string>("./data");

  CLI::App* dump = wal_cmd->add_subcommand(
      "dump",
      "Print every durable event still in the log, one JSON object per line (safe while a server "
      "runs); events already in the store's parts may be gone from it: see `store dump`");
  dump->add_option("--data", *data, "data directory")->capture_default_str();
  dump->callback([data] {
    auto count = Dump(*data, std::cout);
    if (!count.ok()) Fail(count.status());
  });

  CLI::App* verify = wal_cmd->add_subcommand(
      "verify",
      "Check every record's checksum; prints the number of records or where the damage is");
  verify->add_option("--data", *data, "data directory")->capture_default_str();
  verify->callback([data] {
    std::ostream null_stream(nullptr);
    auto count = Dump(*data, null_stream);
    if (!count.ok()) Fail(count.status());
    std::cout << "ok: " << *count << " records" << std::endl;
  });

  CLI::App* repair = wal_cmd->add_subcommand("repair",
                                             "Cut the log at its first damaged record (records "
                                             "after it are lost). Stop the server first.");
  repair->add_option("--data", *data, "data directory")->capture_default_str();
  repair->callback([data] {
    DataDir dir{*data};
    auto lock = io::Env::Default()->LockFile(dir.lock_file());
    if (!lock.ok()) Fail(lock.status().WithContext("stop the server on " + dir.root + " first"));
    auto summary = wal::Repair(OfflineOptions(*data));
    if (!summary.ok()) Fail(summary.status());
    std::cout << *summary << std::endl;
  });
}

}  // namespace ca::app
