#include "upstream/provider_adapters_impl.h"
#include "upstream/sigv4.h"

namespace regiongate::upstream {

bool BedrockAdapter::servesRoute(std::string_view route) const {
  return route == "/v1/chat/completions" || route == "/v1/responses";
}

Result<UpstreamRequest> BedrockAdapter::buildRequest(const EndpointConfig& ep,
                                                     const AttemptInput& in) const {
  UpstreamRequest r;
  r.target = ep.base_path + std::string(in.route);
  if (ep.bedrock.auth == "api_key") {
    r.headers.emplace_back("Authorization", "Bearer " + ep.secret.value);
    return r;
  }
  // Signed per attempt: the signature covers the time, the Host the request path sends, the
  // target and the exact body bytes.
  const auto& aws = ep.bedrock.aws;
  SigV4Request sr{"POST", in.host_header, r.target, "", {{"content-type", "application/json"}},
                  in.body};
  SigV4Credentials creds{aws.access_key_id, aws.secret_access_key.value, aws.session_token.value};
  auto sig = signSigV4(sr, creds, ep.bedrock.region, "bedrock", in.unix_seconds);
  if (!sig.ok()) return sig.error();
  r.headers.emplace_back("x-amz-date", sig->amz_date);
  if (!sig->security_token.empty()) r.headers.emplace_back("x-amz-security-token", sig->security_token);
  r.headers.emplace_back("Authorization", std::move(sig->authorization));
  return r;
}

}  // namespace regiongate::upstream
