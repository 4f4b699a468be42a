#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "app/commands.h"

int main(int argc, char** argv) {
  // Logs go to stderr; stdout carries only command output (JSON, dumps, the listening line).
  spdlog::set_default_logger(spdlog::stderr_color_mt("career-analytics"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App app{"career-analytics: the analytics engine of Career Copilot"};
  app.require_subcommand(1);
  ca::app::AddServeCommand(&app);
  ca::app::AddDemoCommand(&app);
  ca::app::AddKeysCommand(&app);
  ca::app::AddTypesCommand(&app);
  ca::app::AddWalCommand(&app);
  ca::app::AddStoreCommands(&app);
  ca::app::AddBenchCommand(&app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
