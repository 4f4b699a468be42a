#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "app/commands.h"
#include "app/server_app.h"

namespace ca::app {

void AddServeCommand(CLI::App* app) {
  auto flags = std::make_shared<ServerFlags>();
  CLI::App* cmd = app->add_subcommand("serve", "Run the server on a data directory");
  AddServerFlags(cmd, flags.get());
  cmd->callback([flags] {
    auto wait_for_signal = BlockTerminationSignals();
    auto config = LoadConfig(*flags);
    if (!config.ok()) Fail(config.status());
    ServerApp server(*config);
    Status started = server.Start();
    if (!started.ok()) Fail(started);
    std::printf("listening on %s\n", server.url().c_str());
    std::fflush(stdout);
    int sig = wait_for_signal();
    spdlog::info("signal {}: shutting down", sig);
    Status stopped = server.Shutdown();
    if (!stopped.ok()) Fail(stopped);
    spdlog::info("stopped cleanly");
  });
}

}  // namespace ca::app
