#pragma once
// Each subcommand lives in its own <name>_cmd.cc and registers itself on the CLI11 app.
// A registration returns a callback run when that subcommand was chosen; the callback's return
// value is the process exit code (0 success, 1 check/verification failed, 2 usage/config error).
#include <CLI/CLI.hpp>
#include <functional>

namespace regiongate::cli {

using Run = std::function<int()>;

Run addServeCommand(CLI::App& app);
Run addCheckCommand(CLI::App& app);
Run addDemoCommand(CLI::App& app);
Run addMockBackendCommand(CLI::App& app);
Run addAuditCommand(CLI::App& app);
Run addPlanCommand(CLI::App& app);
Run addParityCommand(CLI::App& app);
Run addRolloutCommand(CLI::App& app);
Run addPlanValidateCommand(CLI::App& app);

}  // namespace regiongate::cli
