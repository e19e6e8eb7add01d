#pragma once
// Strings that come from peers (upstream model versions, evidence values, model ids, header
// values, admin request paths) are checked before they reach a response header, a metric label,
// a log line or the audit. Each kind has a strict character set and a length cap; a value that
// fails is refused, never cleaned up and used. escapeForLog() renders any peer bytes (a refused
// value included) as one printable, bounded line for logs and the audit.
//
// Usage:
//   if (auto st = checkPeerString(kVersionString, v); !st) { count; log st.error().message; }
//   spdlog::warn("refused {}", escapeForLog(raw));
// All functions are pure and allocation-free on success (the data plane may call them).
#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace regiongate {

struct PeerStringKind {
  std::string_view what;  // for messages: "model version", "evidence value", ...
  size_t max_bytes;
  bool (*allowed)(unsigned char c);
};

// A model version: letters, digits and . _ - + (e.g. "v2", "2024-05-13", "1.2.0+q4"); 1..64 bytes.
extern const PeerStringKind kVersionString;
// A model id: letters, digits and . _ - + / : @ (e.g. "meta-llama/Llama-3.1-8B", "gpt-4o@v1");
// 1..128 bytes.
extern const PeerStringKind kModelIdString;
// A region name or evidence value (a region, a provider geo label): letters, digits and . _ -;
// 1..64 bytes.
extern const PeerStringKind kRegionString;
// A header value copied to a client: visible ASCII, space and tab (no CR, LF, NUL or other
// control byte, no bytes >= 0x80); 0..1024 bytes.
extern const PeerStringKind kHeaderValueString;

// True when `s` has 1..max_bytes bytes (0..max_bytes for header values), all allowed.
bool isValidPeerString(const PeerStringKind& kind, std::string_view s);
// Same, as a Status whose error (code "invalid_peer_string") names the kind and quotes the value
// escaped and truncated, so the message itself is safe to log.
Status checkPeerString(const PeerStringKind& kind, std::string_view s);

// One printable ASCII line: bytes 0x20..0x7e are kept except '\' and '"', which are written as
// \\ and \"; every other byte as \xHH (CR -> \x0d). Output is at most `max_bytes` (plus a
// suffix "...(N bytes)" when the input was cut), so a 10 KB value cannot flood a log.
std::string escapeForLog(std::string_view s, size_t max_bytes = 128);

}  // namespace regiongate
