#pragma once
// AWS Signature Version 4 for requests to Bedrock runtime (service "bedrock"): the canonical
// request, the string to sign and the Authorization header, as AWS's SigV4 documentation and
// botocore's SigV4Auth define them (tests/upstream check against botocore itself). Every attempt
// is signed afresh: the signature covers the time, the host and the body.
//
// Pure function of its inputs (the time is passed in): safe on any thread, no I/O. Uses
// OpenSSL's SHA-256 and HMAC (no AWS SDK for C++ is packaged in Debian).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace regiongate::upstream {

struct SigV4Credentials {
  std::string_view access_key_id;
  std::string_view secret_access_key;
  std::string_view session_token;  // "" for long-term keys; else sent as x-amz-security-token
};

struct SigV4Request {
  std::string_view method;  // "POST"
  std::string_view host;    // the Host header value as sent (host, or host:port)
  std::string_view path;    // as sent on the request line, already percent-encoded; "" = "/"
  std::string_view query;   // as sent, without '?', pairs already percent-encoded; may be ""
  // Further headers to sign (e.g. content-type), names in any case; host, x-amz-date and
  // x-amz-security-token are added by the signer.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view payload;
};

struct SigV4Signature {
  std::string authorization;   // "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
  std::string amz_date;        // x-amz-date value, YYYYMMDD'T'HHMMSS'Z'
  std::string security_token;  // x-amz-security-token value ("" = do not send)
  std::string signed_headers;  // "content-type;host;x-amz-date"
  std::string canonical_request;
  std::string string_to_sign;
};

// Signs `request` at `unix_seconds` for `region` and `service`. Errors (typed, never thrown):
// empty credentials, region or service, or a header value with a line break.
Result<SigV4Signature> signSigV4(const SigV4Request& request, const SigV4Credentials& credentials,
                                 std::string_view region, std::string_view service,
                                 int64_t unix_seconds);

// "20150830T123600Z" for a Unix time (UTC).
std::string amzDate(int64_t unix_seconds);

}  // namespace regiongate::upstream
