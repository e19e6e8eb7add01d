// `regiongate rollout start|status|promote|abort|resume`: a client of the gateway's admin API
// (POST/GET /admin/rollouts..., docs/rollouts.md).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/host_port.h"
#include "common/json.h"
#include "http/client.h"
#include "http/tls_client.h"

namespace regiongate::cli {

namespace {

struct RolloutArgs {
  std::string action, admin = "127.0.0.1:9901", region, model, to, from, token_file;
  bool tls = false;             // the admin listener speaks TLS (admin_tls)
  http::TlsClientFiles tls_files;
  std::vector<uint32_t> steps;
  std::vector<std::string> green;
  uint32_t step_ms = 0, min_requests = 0, timeout_ms = 10000;
};

constexpr const char* kDescription =
    R"(Start, watch and steer a blue-green rollout of one model in one region, through the
gateway's admin listener. A rollout stages green (pre-warms its cache with the region's hottest
prompts), runs the parity gate, then shifts traffic in steps (default 10, 50, 100 %), judging
error rate and TTFT p99 at each step. Failed gates roll back, inconclusive ones pause for a
person (resume continues, abort rolls back, promote skips the remaining gates).

Exit codes: 0 the gateway accepted the request, 1 it refused (e.g. 409: a rollout is already
running; 401/403: no token, or a token without scope operate), 2 usage error or the admin
listener is unreachable.)";

// The admin token: the first line of --token-file, else $REGIONGATE_ADMIN_TOKEN, else none.
Result<std::string> adminToken(const std::string& token_file) {
  if (token_file.empty()) {
    const char* env = std::getenv("REGIONGATE_ADMIN_TOKEN");
    return std::string(env ? env : "");
  }
  std::ifstream in(token_file);
  if (!in) return Error::config("--token-file: cannot read '" + token_file + "'");
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return Error::config("--token-file: '" + token_file + "' is empty");
  return token;
}

}  // namespace

Run addRolloutCommand(CLI::App& app) {
  auto a = std::make_shared<RolloutArgs>();
  auto* cmd = app.add_subcommand("rollout", "Blue-green model rollouts per region (admin API client)");
  cmd->description(kDescription);
  cmd->add_option("action", a->action, "start | status | promote | abort | resume")
      ->required()
      ->check(CLI::IsMember({"start", "status", "promote", "abort", "resume"}));
  cmd->add_option("--admin", a->admin, "Gateway admin listener HOST:PORT")->capture_default_str();
  cmd->add_option("--region", a->region, "Region of the rollout (status: optional filter)");
  cmd->add_option("--model", a->model, "Model name (without version)");
  cmd->add_option("--to", a->to, "start: green version");
  cmd->add_option("--from", a->from, "start: blue version (default: what the region serves)");
  cmd->add_option("--steps", a->steps, "start: green traffic %% per step, ending at 100")
      ->delimiter(',');
  cmd->add_option("--green", a->green, "start: green endpoint names (default: the region's "
                                       "endpoints serving --to)")->delimiter(',');
  cmd->add_option("--step-ms", a->step_ms, "start: dwell per step before the gates judge it");
  cmd->add_option("--min-requests", a->min_requests, "start: green requests per step the gates need");
  cmd->add_option("--timeout-ms", a->timeout_ms, "HTTP timeout")->capture_default_str();
  cmd->add_flag("--tls", a->tls,
                "The admin listener speaks TLS (admin_tls): verify it against the system trust "
                "store, or --tls-ca");
  cmd->add_option("--tls-ca", a->tls_files.ca_file, "TLS: PEM CA bundle to trust (implies --tls)");
  cmd->add_option("--tls-cert", a->tls_files.client_cert_file,
                  "TLS: client certificate (PEM) for an admin_tls with client_ca_file");
  cmd->add_option("--tls-key", a->tls_files.client_key_file, "TLS: the client certificate's key");
  cmd->add_option("--token-file", a->token_file,
                  "File holding the admin bearer token (default: $REGIONGATE_ADMIN_TOKEN); "
                  "start, promote, abort and resume need a token with scope operate");
  cmd->footer(
      "Examples:\n"
      "  regiongate rollout start --admin 127.0.0.1:9901 --token-file ops.token --region eu-central-1 --model llama-3.1-8b --to v2\n"
      "  regiongate rollout status --admin 127.0.0.1:9901\n"
      "  regiongate rollout abort --admin 127.0.0.1:9901 --region eu-central-1 --model llama-3.1-8b");
  return [a]() -> int {
    auto hp = parseHostPortRequired(a->admin);
    if (!hp) {
      std::fprintf(stderr, "regiongate rollout: --admin: %s\n", hp.error().message.c_str());
      return 2;
    }
    auto token = adminToken(a->token_file);
    if (!token) {
      std::fprintf(stderr, "regiongate rollout: %s\n", token.error().message.c_str());
      return 2;
    }
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token->empty()) headers.emplace_back("authorization", "Bearer " + *token);
    std::string method = "GET", target = "/admin/rollouts", body;
    if (a->action == "start") {
      if (a->region.empty() || a->model.empty() || a->to.empty()) {
        std::fprintf(stderr, "regiongate rollout start: --region, --model and --to are required\n");
        return 2;
      }
      method = "POST";
      body = "{\"region\":" + jsonString(a->region) + ",\"model\":" + jsonString(a->model) +
             ",\"to\":" + jsonString(a->to);
      if (!a->from.empty()) body += ",\"from\":" + jsonString(a->from);
      if (!a->steps.empty()) {
        body += ",\"steps\":[";
        for (size_t i = 0; i < a->steps.size(); ++i)
          body += (i ? "," : "") + std::to_string(a->steps[i]);
        body += "]";
      }
      if (!a->green.empty()) {
        body += ",\"green_endpoints\":[";
        for (size_t i = 0; i < a->green.size(); ++i)
          body += (i ? "," : "") + jsonString(a->green[i]);
        body += "]";
      }
      if (a->step_ms) body += ",\"step_ms\":" + std::to_string(a->step_ms);
      if (a->min_requests) body += ",\"min_requests\":" + std::to_string(a->min_requests);
      body += "}";
    } else if (a->action == "status") {
      if (!a->region.empty() && !a->model.empty()) target += "/" + a->region + "/" + a->model;
    } else {
      if (a->region.empty() || a->model.empty()) {
        std::fprintf(stderr, "regiongate rollout %s: --region and --model are required\n",
                     a->action.c_str());
        return 2;
      }
      method = "POST";
      target += "/" + a->region + "/" + a->model + "/" + a->action;
    }
    http::ClientRequest request{method, target, body, headers, a->timeout_ms};
    if (a->tls || !a->tls_files.ca_file.empty() || !a->tls_files.client_cert_file.empty()) {
      auto tls = http::makeClientTls(a->tls_files, hp->host, "--tls");
      if (!tls) {
        std::fprintf(stderr, "regiongate rollout: %s\n", tls.error().message.c_str());
        return 2;
      }
      request.tls = std::move(tls.value());
    }
    auto r = http::call(hp->host, *hp->port, std::move(request));
    if (!r) {
      std::fprintf(stderr, "regiongate rollout: %s: %s\n", a->admin.c_str(), r.error().message.c_str());
      return 2;
    }
    std::printf("%s\n", r->body.c_str());
    std::fflush(stdout);
    return r->status >= 200 && r->status < 300 ? 0 : 1;
  };
}

}  // namespace regiongate::cli
