#pragma once
// Loads and validates a gateway config (YAML, block or flow style; docs/configuration.md).
// Control plane only: called at startup, on reload and by `regiongate check`, never per request.
// Every error is one line "FILE:LINE: KEY.PATH: problem", e.g.
//   gw.yaml:14: endpoints[2].region: unknown region 'eu-west-9'
// (Error::code "invalid_config", source Config). Indices in key paths are 0-based. Only the
// first error found is reported. A loaded config has passed structural validation (types,
// ranges, unknown keys, duplicate names, dangling references, ISO country codes); whether it
// keeps every tenant inside its jurisdiction is residency::proveResidency's job.
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/config.h"

namespace regiongate {

struct LoadOptions {
  // false (`regiongate check`): credential_env / credential_file / AWS credentials are named but
  // not read, so the proof runs where the production secrets are absent (CI). serve: true.
  bool read_secrets = true;
};

Result<ConfigPtr> loadConfigFile(const std::string& path, LoadOptions options = {});
Result<ConfigPtr> loadConfigString(std::string_view yaml, std::string filename = "<string>",
                                   LoadOptions options = {});

// Pieces of the grammar, exposed for tests and for other parts that accept the same syntax
// (the error message names the problem, not a file or key).
Result<ModelRef> parseModelRef(std::string_view s);      // "NAME" or "NAME@VERSION"
Result<EvidenceSpec> parseEvidence(std::string_view s);  // endpoint | header:NAME | body:a.b
struct ParsedUrl {
  std::string host;
  uint16_t port = 80;     // default 80 for http://, 443 for https://
  std::string base_path;  // "" or "/prefix" (no trailing slash)
  bool https = false;
};
Result<ParsedUrl> parseEndpointUrl(std::string_view url);  // http[s]://host[:port][/base]
// "HOST:PORT" (HOST may be [v6]); port 0 = ephemeral. Returns {host, port}.
Result<std::pair<std::string, uint16_t>> parseListenAddress(std::string_view s);

}  // namespace regiongate
