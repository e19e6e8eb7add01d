#pragma once
// The one HOST[:PORT] parser: config URLs and listen addresses, the CLIs' --admin, the HTTP
// server's listen address. IPv6 literals go in brackets ("[::1]:8080"; the host is returned
// without them). Errors are Config errors naming the whole input.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace regiongate {

struct HostPort {
  std::string host;
  std::optional<uint16_t> port;  // nullopt when the input has no ":PORT"
};

// `context` is the text errors quote (e.g. the whole URL); empty = `s` itself.
Result<HostPort> parseHostPort(std::string_view s, std::string_view context = {});
// HOST:PORT with the port required.
Result<HostPort> parseHostPortRequired(std::string_view s, std::string_view context = {});

}  // namespace regiongate
