// Fuzz target: the admin listener's decisions without a socket: admin::decideAdmin (route, token,
// scope) on a fuzzed method, target and Authorization header, and the body of POST
// /admin/rollouts (rollout::parseStartRequest). Input: METHOD \n TARGET \n AUTHORIZATION \n BODY.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "admin/admin_access.h"
#include "common/hash.h"
#include "rollout/start_request.h"

namespace {

std::string_view nextLine(std::string_view& rest) {
  size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return line;
}

const regiongate::AdminConfig& config() {
  static const regiongate::AdminConfig cfg = [] {
    regiongate::AdminConfig c;
    c.tokens.push_back({"ops", regiongate::sha256Hex("operate-token"),
                        regiongate::AdminScope::Operate, {}});
    c.tokens.push_back({"viewer", regiongate::sha256Hex("read-token"),
                        regiongate::AdminScope::Read, {}});
    return c;
  }();
  return cfg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string_view method = nextLine(rest), target = nextLine(rest), auth = nextLine(rest);
  auto d = regiongate::admin::decideAdmin(config(), method, target, auth);
  // A change is never allowed without the operate token.
  if (d.allowed && d.mutating && d.token_name != "ops") __builtin_trap();
  if (!d.allowed && d.status != 401 && d.status != 403) __builtin_trap();
  auto open = regiongate::admin::decideAdmin(regiongate::AdminConfig{}, method, target, auth);
  if (open.allowed && open.mutating) __builtin_trap();  // no tokens: changes always refused
  (void)regiongate::rollout::parseStartRequest(rest);
  return 0;
}
