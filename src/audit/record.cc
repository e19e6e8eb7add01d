#include "audit/record.h"

#include <simdjson.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "common/hash.h"
#include "common/json.h"

namespace regiongate::audit {
namespace {

void field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.push_back('=');
  out.append(std::to_string(value.size()));
  out.push_back(':');
  out.append(value);
  out.push_back('\n');
}

void fieldInt(std::string& out, std::string_view name, int64_t v) {
  field(out, name, std::to_string(v));
}

void fieldOpt(std::string& out, std::string_view name, const std::optional<std::string>& v) {
  if (v) {
    field(out, name, *v);
  } else {
    out.append(name);
    out.append("=-\n");
  }
}

constexpr double kMaxMs = 1e12;

double saneMs(double ms) {
  if (std::isnan(ms)) return -1;
  return std::clamp(ms, -kMaxMs, kMaxMs);
}

// Replaces NUL and every byte that does not start a valid UTF-8 sequence with U+FFFD.
void saneText(std::string& s) {
  bool clean = true;
  for (size_t i = 0; i < s.size() && clean; ++i)
    clean = s[i] != '\0' && static_cast<unsigned char>(s[i]) < 0x80;
  if (clean) return;
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = len > 0 && c != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xc0) == 0x80;
    if (ok && len > 1) {
      uint32_t cp = c & (0xff >> (len + 1));
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3f);
      const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= min[len] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
    }
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out.append("\xef\xbf\xbd");
      ++i;
    }
  }
  s = std::move(out);
}

}  // namespace

void normalizeRecord(Record& r) {
  for (std::string* s : {&r.request_id, &r.tenant, &r.jurisdiction, &r.model, &r.model_version,
                         &r.intended_region, &r.actual_region, &r.evidence, &r.evidence_value,
                         &r.endpoint, &r.violation, &r.error_type, &r.replica_id})
    saneText(*s);
  for (auto* o : {&r.prompt_text, &r.completion_text})
    if (*o) saneText(**o);
  for (auto& a : r.attempts) {
    saneText(a.endpoint);
    saneText(a.region);
    saneText(a.outcome);
    a.ms = saneMs(a.ms);
  }
  r.ttft_ms = saneMs(r.ttft_ms);
  r.duration_ms = saneMs(r.duration_ms);
}

std::string formatMs(double ms) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", ms);
  std::string s(buf);
  if (s == "-0.000") s = "0.000";  // one spelling of zero
  return s;
}

std::string canonicalEncoding(const Record& r) {
  std::string out;
  out.reserve(512);
  out.append("regiongate-audit-v1\n");
  field(out, "replica_id", r.replica_id);
  fieldInt(out, "seq", r.seq);
  fieldInt(out, "ts_us", r.ts_us);
  field(out, "request_id", r.request_id);
  field(out, "tenant", r.tenant);
  field(out, "jurisdiction", r.jurisdiction);
  field(out, "model", r.model);
  field(out, "model_version", r.model_version);
  field(out, "intended_region", r.intended_region);
  field(out, "actual_region", r.actual_region);
  field(out, "evidence", r.evidence);
  field(out, "evidence_value", r.evidence_value);
  field(out, "endpoint", r.endpoint);
  fieldInt(out, "attempts", static_cast<int64_t>(r.attempts.size()));
  for (const auto& a : r.attempts) {
    field(out, "attempt.endpoint", a.endpoint);
    field(out, "attempt.region", a.region);
    field(out, "attempt.outcome", a.outcome);
    field(out, "attempt.ms", formatMs(a.ms));
  }
  fieldInt(out, "status", r.status);
  field(out, "ttft_ms", formatMs(r.ttft_ms));
  field(out, "duration_ms", formatMs(r.duration_ms));
  fieldInt(out, "prompt_tokens", r.prompt_tokens);
  fieldInt(out, "cached_tokens", r.cached_tokens);
  fieldInt(out, "completion_tokens", r.completion_tokens);
  field(out, "violation", r.violation);
  field(out, "error_type", r.error_type);
  fieldOpt(out, "prompt_text", r.prompt_text);
  fieldOpt(out, "completion_text", r.completion_text);
  return out;
}

std::string recordHash(std::string_view prev_hash, const Record& rec) {
  std::string buf(prev_hash);
  buf.append(canonicalEncoding(rec));
  return sha256Hex(buf);
}

std::string attemptsToJson(const std::vector<Attempt>& attempts) {
  std::string out = "[";
  for (size_t i = 0; i < attempts.size(); ++i) {
    const auto& a = attempts[i];
    if (i) out.push_back(',');
    out.append("{\"endpoint\":");
    appendJsonString(out, a.endpoint);
    out.append(",\"region\":");
    appendJsonString(out, a.region);
    out.append(",\"outcome\":");
    appendJsonString(out, a.outcome);
    out.append(",\"ms\":");
    out.append(formatMs(a.ms));
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

Result<std::vector<Attempt>> parseAttemptsJson(std::string_view json) {
  std::vector<Attempt> out;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc))
    return Error::internal(std::string("attempts: invalid JSON: ") + simdjson::error_message(err),
                           "invalid_attempts");
  simdjson::dom::array arr;
  if (doc.get_array().get(arr)) return Error::internal("attempts: not an array", "invalid_attempts");
  for (simdjson::dom::element el : arr) {
    simdjson::dom::object obj;
    if (el.get_object().get(obj))
      return Error::internal("attempts: element is not an object", "invalid_attempts");
    Attempt a;
    for (auto kv : obj) {
      std::string_view key = kv.key;
      if (key == "ms") {
        double d = 0;
        if (kv.value.get_double().get(d)) {
          int64_t i = 0;
          if (kv.value.get_int64().get(i))
            return Error::internal("attempts: ms is not a number", "invalid_attempts");
          d = static_cast<double>(i);
        }
        if (!(d >= -kMaxMs && d <= kMaxMs))
          return Error::internal("attempts: ms out of range", "invalid_attempts");
        a.ms = d;
        continue;
      }
      std::string_view sv;
      if (kv.value.get_string().get(sv))
        return Error::internal("attempts: " + std::string(key) + " is not a string",
                               "invalid_attempts");
      if (key == "endpoint") a.endpoint = sv;
      else if (key == "region") a.region = sv;
      else if (key == "outcome") a.outcome = sv;
      else return Error::internal("attempts: unknown key " + std::string(key), "invalid_attempts");
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<Attempt> decodeStoredAttempts(std::string_view json) {
  auto parsed = parseAttemptsJson(json);
  if (parsed.ok()) return std::move(parsed.value());
  return {Attempt{"", "", "<unparseable attempts: " + parsed.error().message + ">", 0}};
}

std::string recordToJson(const Record& r) {
  std::string out = "{";
  auto str = [&](std::string_view k, std::string_view v) {
    if (out.size() > 1) out.push_back(',');
    appendJsonString(out, k);
    out.push_back(':');
    appendJsonString(out, v);
  };
  auto raw = [&](std::string_view k, std::string_view v) {
    if (out.size() > 1) out.push_back(',');
    appendJsonString(out, k);
    out.push_back(':');
    out.append(v);
  };
  str("replica_id", r.replica_id);
  raw("seq", std::to_string(r.seq));
  raw("ts_us", std::to_string(r.ts_us));
  str("request_id", r.request_id);
  str("tenant", r.tenant);
  str("jurisdiction", r.jurisdiction);
  str("model", r.model);
  str("model_version", r.model_version);
  str("intended_region", r.intended_region);
  str("actual_region", r.actual_region);
  str("evidence", r.evidence);
  str("evidence_value", r.evidence_value);
  str("endpoint", r.endpoint);
  raw("attempts", attemptsToJson(r.attempts));
  raw("status", std::to_string(r.status));
  raw("ttft_ms", formatMs(r.ttft_ms));
  raw("duration_ms", formatMs(r.duration_ms));
  raw("prompt_tokens", std::to_string(r.prompt_tokens));
  raw("cached_tokens", std::to_string(r.cached_tokens));
  raw("completion_tokens", std::to_string(r.completion_tokens));
  str("violation", r.violation);
  str("error_type", r.error_type);
  if (r.prompt_text) str("prompt_text", *r.prompt_text);
  if (r.completion_text) str("completion_text", *r.completion_text);
  str("prev_hash", r.prev_hash);
  str("hash", r.hash);
  out.push_back('}');
  return out;
}

}  // namespace regiongate::audit
