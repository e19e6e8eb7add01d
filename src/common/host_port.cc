#include "common/host_port.h"

#include <algorithm>
#include <charconv>

namespace regiongate {

namespace {

Result<uint16_t> parsePort(std::string_view p, const std::string& whole) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (p.empty() || p.size() > 5 || ec != std::errc() || end != p.data() + p.size())
    return Error::config("bad port in '" + whole + "'");
  if (v > 65535) return Error::config("port out of range in '" + whole + "'");
  return static_cast<uint16_t>(v);
}

bool badHostChar(char c) {
  return c <= ' ' || c == '/' || c == '?' || c == '#' || c == '@' || c == 0x7f;
}

}  // namespace

Result<HostPort> parseHostPort(std::string_view s, std::string_view context) {
  const std::string whole(context.empty() ? s : context);
  std::string_view h = s, p;
  bool has_port = false;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos)
      return Error::config("unterminated '[' in '" + whole + "'");
    h = s.substr(1, close - 1);
    auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return Error::config("expected ':PORT' after ']' in '" + whole + "'");
      p = rest.substr(1);
      has_port = true;
    }
  } else if (auto colon = s.rfind(':'); colon != std::string_view::npos) {
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
    has_port = true;
    if (h.find(':') != std::string_view::npos)
      return Error::config("write IPv6 addresses in brackets, e.g. [::1]:8080");
  }
  if (h.empty()) return Error::config("missing host in '" + whole + "'");
  if (std::any_of(h.begin(), h.end(), badHostChar))
    return Error::config("bad host in '" + whole + "'");
  HostPort out{std::string(h), std::nullopt};
  if (has_port) {
    auto port = parsePort(p, whole);
    if (!port.ok()) return port.error();
    out.port = port.value();
  }
  return out;
}

Result<HostPort> parseHostPortRequired(std::string_view s, std::string_view context) {
  auto hp = parseHostPort(s, context);
  if (hp.ok() && !hp->port)
    return Error::config("expected HOST:PORT, got '" + std::string(context.empty() ? s : context) +
                         "'");
  return hp;
}

}  // namespace regiongate
