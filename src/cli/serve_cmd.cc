// regiongate serve --config FILE: the data plane.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <fstream>

#include "cli/commands.h"
#include "config/loader.h"
#include "gateway/gateway.h"

namespace regiongate::cli {

Run addServeCommand(CLI::App& app) {
  struct Opts {
    std::string config;
    std::string port_file;
    std::string log_level = "info";
  };
  auto opts = std::make_shared<Opts>();
  auto* sub = app.add_subcommand(
      "serve",
      "Run the jurisdiction-locked OpenAI-compatible gateway.\n"
      "Signals: SIGHUP reloads the config (refused if invalid or unsafe; the old one stays),\n"
      "SIGTERM/SIGINT stop accepting and drain in-flight requests (limits.drain_timeout_ms).\n"
      "Prints 'listening data=HOST:PORT admin=HOST:PORT' on stdout once bound.");
  sub->add_option("--config,-c", opts->config, "gateway config (YAML)")->required();
  sub->add_option("--port-file", opts->port_file,
                  "write 'DATA_PORT ADMIN_PORT' to this file once bound (for port 0 in tests)");
  sub->add_option("--log-level", opts->log_level, "trace|debug|info|warn|error");
  return [opts]() -> int {
    spdlog::set_level(spdlog::level::from_str(opts->log_level));
    auto cfg = loadConfigFile(opts->config);
    if (!cfg) {
      std::fprintf(stderr, "regiongate serve: %s\n", cfg.error().message.c_str());
      return 2;
    }
    gateway::GatewayOptions gopts;
    gopts.config_path = opts->config;
    auto gw = gateway::Gateway::create(cfg.value(), gopts);
    if (!gw) {
      std::fprintf(stderr, "regiongate serve: %s\n", gw.error().message.c_str());
      return 2;
    }
    auto& g = *gw.value();
    if (auto st = g.start(); !st) {
      std::fprintf(stderr, "regiongate serve: %s\n", st.error().message.c_str());
      return 2;
    }
    const auto& c = *cfg.value();
    std::printf("listening data=%s:%u admin=%s:%u\n", c.listen.substr(0, c.listen.rfind(':')).c_str(),
                g.port(), c.admin_listen.substr(0, c.admin_listen.rfind(':')).c_str(), g.adminPort());
    std::fflush(stdout);
    if (!opts->port_file.empty()) {
      std::string tmp = opts->port_file + ".tmp";
      std::ofstream(tmp) << g.port() << " " << g.adminPort() << "\n";
      std::rename(tmp.c_str(), opts->port_file.c_str());
    }
    boost::asio::io_context ctl(1);
    boost::asio::signal_set stop_signals(ctl, SIGTERM, SIGINT);
    boost::asio::signal_set hup(ctl, SIGHUP);
    std::function<void()> wait_hup = [&] {
      hup.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        spdlog::info("SIGHUP: reloading {}", opts->config);
        (void)g.reloadFromFile();
        wait_hup();
      });
    };
    wait_hup();
    stop_signals.async_wait([&](const boost::system::error_code&, int sig) {
      spdlog::info("signal {}: draining (deadline {} ms)", sig, c.limits.drain_timeout_ms);
      hup.cancel();
      ctl.stop();
    });
    ctl.run();
    g.stop(c.limits.drain_timeout_ms);
    spdlog::info("stopped");
    return 0;
  };
}

}  // namespace regiongate::cli
