// `regiongate mock-backend`: runs one MockBackend (src/mock/mock_backend.h) until SIGINT/SIGTERM.
// Prints "listening HOST:PORT" as the first stdout line (and writes the port to --port-file) so
// tests and scripts started with --listen 127.0.0.1:0 can find it.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "http/server.h"
#include "mock/mock_backend.h"

namespace regiongate::cli {
namespace {

struct MockArgs {
  mock::MockOptions o;
  std::vector<std::string> models;
  std::string stream_usage = "always";
  std::string port_file;
  double error_rate = 0;
  unsigned error_status = 500;
  std::string report_region;
  double report_fraction = 0;
  bool no_admin = false;
};

}  // namespace

Run addMockBackendCommand(CLI::App& app) {
  auto a = std::make_shared<MockArgs>();
  auto* cmd = app.add_subcommand(
      "mock-backend",
      "An OpenAI-compatible mock inference server with a KV-cache model, a latency model calibrated "
      "from Splitwise data, region evidence and injectable faults (docs/mock-backend.md)");
  auto& o = a->o;
  cmd->add_option("--region", o.region, "Region this backend reports (x-inference-region)")
      ->required();
  cmd->add_option("--listen", o.listen, "HOST:PORT to listen on; port 0 picks a free port")
      ->capture_default_str();
  cmd->add_option("--model", a->models, "Model served, NAME[@VERSION] (version default v1); repeat")
      ->required();
  cmd->add_option("--workers", o.workers, "Worker threads")->capture_default_str();
  cmd->add_option("--cache-tokens", o.cache_tokens, "KV-cache capacity per model, tokens")
      ->capture_default_str();
  cmd->add_option("--block-tokens", o.block_tokens, "KV-cache block size, tokens")
      ->capture_default_str();
  cmd->add_option("--batch-slots", o.latency.batch_slots, "Requests served at once; more queue")
      ->capture_default_str();
  cmd->add_option("--prefill-ms-per-token", o.latency.prefill_ms_per_token,
                  "Prefill time per uncached prompt token, ms")->capture_default_str();
  cmd->add_option("--decode-ms-per-token", o.latency.decode_ms_per_token,
                  "Decode time per output token, ms")->capture_default_str();
  cmd->add_option("--ttft-fixed-ms", o.latency.ttft_fixed_ms, "Fixed part of TTFT, ms")
      ->capture_default_str();
  cmd->add_option("--time-scale", o.latency.time_scale,
                  "Multiplies every modelled time (0 = instant, no timers)")->capture_default_str();
  cmd->add_flag("--serial-prefill", o.latency.serial_prefill,
                "Prefill one prompt at a time, FIFO (the planner's instance model)");
  cmd->add_option("--output-tokens", o.output_tokens, "Tokens generated per request")
      ->capture_default_str();
  cmd->add_option("--stream-min-write-ms", o.stream_min_write_ms,
                  "Streams: tokens ready within this many wall ms of the previous write go out "
                  "with a later one (first and last token on time); 0 = one write per token")
      ->capture_default_str();
  cmd->add_option("--stream-usage", a->stream_usage,
                  "Final usage chunk in streams: always (unless the client sets "
                  "stream_options.include_usage=false) | requested")
      ->check(CLI::IsMember({"always", "requested"}))->capture_default_str();
  cmd->add_option("--divergence", o.divergence,
                  "Fraction of prompts whose output text is perturbed (parity rehearsal)")
      ->capture_default_str();
  cmd->add_option("--report-region", a->report_region,
                  "Region reported for --report-fraction of requests (internal forwarding)");
  cmd->add_option("--report-fraction", a->report_fraction, "Fraction answered as --report-region")
      ->capture_default_str();
  cmd->add_flag("--omit-region-header", o.faults.omit_region_header,
                "Do not send x-inference-region (usage.inference_geo stays)");
  cmd->add_option("--error-rate", a->error_rate, "Fraction of requests answered with --error-status")
      ->capture_default_str();
  cmd->add_option("--error-status", a->error_status, "HTTP status of injected errors")
      ->capture_default_str();
  cmd->add_flag("--hang", o.faults.hang, "Accept requests and never answer");
  cmd->add_option("--slow-first-byte-ms", o.faults.slow_first_byte_ms,
                  "Extra delay before the first response byte, real ms (not scaled)");
  cmd->add_flag("--close-mid-stream", o.faults.close_mid_stream,
                "Send part of each response, then close the connection");
  cmd->add_option("--request-log", o.request_log, "Append one JSON line per request to FILE");
  cmd->add_flag("--no-admin", a->no_admin, "Disable the /admin/* endpoints");
  cmd->add_option("--kv-events", o.kv_events,
                  "Publish KV-cache events (vLLM ZMQ+msgpack format) on this ZMQ endpoint, "
                  "e.g. tcp://127.0.0.1:5557");
  cmd->add_option("--kv-events-topic", o.kv_events_topic, "ZMQ topic of KV-event messages");
  cmd->add_option("--seed", o.seed, "Seed of the error/report draws")->capture_default_str();
  cmd->add_option("--port-file", a->port_file, "Write the bound port to FILE once listening");

  return [a] {
    auto& o = a->o;
    for (const auto& spec : a->models) {
      auto m = mock::parseModelSpec(spec);
      if (!m) {
        std::fprintf(stderr, "regiongate mock-backend: %s\n", m.error().message.c_str());
        return 2;
      }
      o.models.push_back(*m);
    }
    o.stream_usage = a->stream_usage == "requested" ? mock::StreamUsage::Requested
                                                    : mock::StreamUsage::Always;
    o.faults.error_rate = a->error_rate;
    o.faults.error_status = a->error_status;
    o.faults.report_region = a->report_region;
    o.faults.report_fraction = a->report_fraction;
    o.admin = !a->no_admin;

    // Block the stop signals before any thread starts, so only sigwait() below receives them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    mock::MockBackend backend(o);
    auto st = backend.start();
    if (!st) {
      std::fprintf(stderr, "regiongate mock-backend: %s\n", st.error().message.c_str());
      return 2;
    }
    if (!a->port_file.empty()) {
      std::string tmp = a->port_file + ".tmp";
      {
        std::ofstream f(tmp);
        f << backend.port() << "\n";
      }
      std::rename(tmp.c_str(), a->port_file.c_str());  // readers never see a partial file
    }
    auto ep = http::parseListen(o.listen);
    std::string host = ep ? ep->address().to_string() : std::string("127.0.0.1");
    std::printf("listening %s:%u\n", host.c_str(), static_cast<unsigned>(backend.port()));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    backend.stop(500);
    return 0;
  };
}

}  // namespace regiongate::cli
