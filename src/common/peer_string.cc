#include "common/peer_string.h"

#include <algorithm>

namespace regiongate {

namespace {

bool alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool versionChar(unsigned char c) {
  return alnum(c) || c == '.' || c == '_' || c == '-' || c == '+';
}
bool modelIdChar(unsigned char c) {
  return versionChar(c) || c == '/' || c == ':' || c == '@';
}
bool regionChar(unsigned char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; }
// RFC 9110 field-value without obs-text: VCHAR, SP, HTAB.
bool headerValueChar(unsigned char c) { return (c >= 0x20 && c < 0x7f) || c == '\t'; }

}  // namespace

const PeerStringKind kVersionString{"model version", 64, versionChar};
const PeerStringKind kModelIdString{"model id", 128, modelIdChar};
const PeerStringKind kRegionString{"region or evidence value", 64, regionChar};
const PeerStringKind kHeaderValueString{"header value", 1024, headerValueChar};

bool isValidPeerString(const PeerStringKind& kind, std::string_view s) {
  bool may_be_empty = &kind == &kHeaderValueString;
  if (s.size() > kind.max_bytes || (s.empty() && !may_be_empty)) return false;
  for (char c : s)
    if (!kind.allowed(static_cast<unsigned char>(c))) return false;
  return true;
}

Status checkPeerString(const PeerStringKind& kind, std::string_view s) {
  if (isValidPeerString(kind, s)) return {};
  std::string why = s.empty()                  ? "empty"
                    : s.size() > kind.max_bytes ? "longer than " + std::to_string(kind.max_bytes) +
                                                      " bytes"
                                                : "has a byte outside its character set";
  return Error{ErrorSource::Upstream, "invalid_peer_string",
               "invalid " + std::string(kind.what) + " \"" + escapeForLog(s) + "\": " + why,
               false};
}

std::string escapeForLog(std::string_view s, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(s.size(), max_bytes) + 16);
  size_t used = 0;
  for (; used < s.size(); ++used) {
    auto c = static_cast<unsigned char>(s[used]);
    char esc[4];
    size_t n = 0;
    if (c == '\\' || c == '"') {
      esc[0] = '\\';
      esc[1] = static_cast<char>(c);
      n = 2;
    } else if (c >= 0x20 && c < 0x7f) {
      esc[0] = static_cast<char>(c);
      n = 1;
    } else {
      esc[0] = '\\';
      esc[1] = 'x';
      esc[2] = kHex[c >> 4];
      esc[3] = kHex[c & 0xf];
      n = 4;
    }
    if (out.size() + n > max_bytes) break;
    out.append(esc, n);
  }
  if (used < s.size()) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace regiongate
