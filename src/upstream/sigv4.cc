#include "upstream/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <ctime>

#include "common/hash.h"

namespace regiongate::upstream {

namespace {

using Bytes = std::array<unsigned char, 32>;

Bytes hmacSha256(std::string_view key, std::string_view data) {
  Bytes out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}
std::string_view view(const Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// The canonical URI: every byte but unreserved ones and '/' percent-encoded, so a path that is
// already encoded is encoded a second time ("%3A" -> "%253A"), as SigV4 asks for every service
// but S3. An empty path is "/".
std::string canonicalUri(std::string_view path) {
  if (path.empty()) return "/";
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size() + 8);
  for (char c : path) {
    if (unreserved(c) || c == '/') {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

// Pairs sorted by key, then value, as sent (the caller sends them already encoded).
std::string canonicalQuery(std::string_view query) {
  if (query.empty()) return "";
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  while (true) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    pairs.emplace_back(pair.substr(0, eq),
                       eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out.append(k).append("=").append(v);
  }
  return out;
}

// Trimmed, inner runs of spaces collapsed to one (SigV4's Trimall).
std::string trimAll(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

std::string amzDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[17];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Result<SigV4Signature> signSigV4(const SigV4Request& req, const SigV4Credentials& creds,
                                 std::string_view region, std::string_view service,
                                 int64_t unix_seconds) {
  if (creds.access_key_id.empty() || creds.secret_access_key.empty())
    return Error::internal("SigV4: no AWS access key", "sigv4_no_credentials");
  if (region.empty() || service.empty())
    return Error::internal("SigV4: empty region or service", "sigv4_bad_scope");
  SigV4Signature sig;
  sig.amz_date = amzDate(unix_seconds);
  sig.security_token = std::string(creds.session_token);
  std::string date = sig.amz_date.substr(0, 8);

  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("host", trimAll(req.host));
  headers.emplace_back("x-amz-date", sig.amz_date);
  if (!sig.security_token.empty()) headers.emplace_back("x-amz-security-token", sig.security_token);
  for (const auto& [name, value] : req.headers) {
    if (value.find_first_of("\r\n") != std::string::npos || name.find_first_of("\r\n:") != std::string::npos)
      return Error::internal("SigV4: header '" + name + "' holds a line break", "sigv4_bad_header");
    headers.emplace_back(lowerAscii(name), trimAll(value));
  }
  std::sort(headers.begin(), headers.end());

  std::string canonical_headers;
  for (size_t i = 0; i < headers.size(); ++i) {
    // Repeated names join their values with ',' (botocore does the same).
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.pop_back();
      canonical_headers += "," + headers[i].second + "\n";
      continue;
    }
    canonical_headers += headers[i].first + ":" + headers[i].second + "\n";
    if (!sig.signed_headers.empty()) sig.signed_headers += ';';
    sig.signed_headers += headers[i].first;
  }

  sig.canonical_request = std::string(req.method) + "\n" + canonicalUri(req.path) + "\n" +
                          canonicalQuery(req.query) + "\n" + canonical_headers + "\n" +
                          sig.signed_headers + "\n" + sha256Hex(req.payload);
  std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  sig.string_to_sign = "AWS4-HMAC-SHA256\n" + sig.amz_date + "\n" + scope + "\n" +
                       sha256Hex(sig.canonical_request);

  Bytes k = hmacSha256("AWS4" + std::string(creds.secret_access_key), date);
  k = hmacSha256(view(k), region);
  k = hmacSha256(view(k), service);
  k = hmacSha256(view(k), "aws4_request");
  Bytes signature = hmacSha256(view(k), sig.string_to_sign);

  sig.authorization = "AWS4-HMAC-SHA256 Credential=" + std::string(creds.access_key_id) + "/" +
                      scope + ", SignedHeaders=" + sig.signed_headers +
                      ", Signature=" + toHex(signature.data(), signature.size());
  return sig;
}

}  // namespace regiongate::upstream
