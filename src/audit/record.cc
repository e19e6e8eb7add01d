#include "audit/record.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/hash.h"
#include "common/json.h"

namespace regiongate::audit {
namespace {

void field(std::string& out, std::string_view name, std::string_view value) {
  char len[24];
  auto res = std::to_chars(len, len + sizeof(len), value.size());
  out.append(name);
  out.push_back('=');
  out.append(len, res.ptr);
  out.push_back(':');
  out.append(value);
  out.push_back('\n');
}

void fieldInt(std::string& out, std::string_view name, int64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  field(out, name, std::string_view(buf, static_cast<size_t>(res.ptr - buf)));
}

// Milliseconds with exactly 3 decimals (std::to_chars is specified as printf("%.3f") without
// the locale, and needs no allocation); one spelling of zero.
std::string_view msText(char (&buf)[64], double ms) {
  auto res = std::to_chars(buf, buf + sizeof(buf), ms, std::chars_format::fixed, 3);
  std::string_view v(buf, static_cast<size_t>(res.ptr - buf));
  if (v == "-0.000") v.remove_prefix(1);
  return v;
}

void fieldMs(std::string& out, std::string_view name, double ms) {
  char buf[64];
  field(out, name, msText(buf, ms));
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
  // Fast path (8 bytes at a time): plain ASCII without NUL needs no change.
  size_t i = 0;
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    if ((x & kHighs) != 0 || ((x - kOnes) & ~x & kHighs) != 0) break;
  }
  bool clean = true;
  for (; i < s.size() && clean; ++i)
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
  return std::string(msText(buf, ms));
}

void appendCanonicalEncoding(std::string& out, const Record& r) {
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
    fieldMs(out, "attempt.ms", a.ms);
  }
  fieldInt(out, "status", r.status);
  fieldMs(out, "ttft_ms", r.ttft_ms);
  fieldMs(out, "duration_ms", r.duration_ms);
  fieldInt(out, "prompt_tokens", r.prompt_tokens);
  fieldInt(out, "cached_tokens", r.cached_tokens);
  fieldInt(out, "completion_tokens", r.completion_tokens);
  field(out, "violation", r.violation);
  field(out, "error_type", r.error_type);
  fieldOpt(out, "prompt_text", r.prompt_text);
  fieldOpt(out, "completion_text", r.completion_text);
}

std::string canonicalEncoding(const Record& r) {
  std::string out;
  out.reserve(512);
  appendCanonicalEncoding(out, r);
  return out;
}

std::string recordHash(std::string_view prev_hash, const Record& rec) {
  // One buffer per thread (the writer hashes every record): prev_hash || encoding, no allocation
  // once warm.
  thread_local std::string buf;
  buf.assign(prev_hash);
  appendCanonicalEncoding(buf, rec);
  return sha256Hex(buf);
}

void appendAttemptsJson(std::string& out, const std::vector<Attempt>& attempts) {
  out.push_back('[');
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
    char buf[64];
    out.append(msText(buf, a.ms));
    out.push_back('}');
  }
  out.push_back(']');
}

std::string attemptsToJson(const std::vector<Attempt>& attempts) {
  std::string out;
  appendAttemptsJson(out, attempts);
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

void appendRecordJson(std::string& out, const Record& r) {
  bool first = true;
  auto key = [&](std::string_view k) {
    out.append(first ? "{\"" : ",\"");
    first = false;
    out.append(k);  // keys are plain identifiers: no escaping needed
    out.append("\":");
  };
  auto str = [&](std::string_view k, std::string_view v) {
    key(k);
    appendJsonString(out, v);
  };
  auto num = [&](std::string_view k, int64_t v) {
    key(k);
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, res.ptr);
  };
  auto ms = [&](std::string_view k, double v) {
    key(k);
    char buf[64];
    out.append(msText(buf, v));
  };
  str("replica_id", r.replica_id);
  num("seq", r.seq);
  num("ts_us", r.ts_us);
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
  key("attempts");
  appendAttemptsJson(out, r.attempts);
  num("status", r.status);
  ms("ttft_ms", r.ttft_ms);
  ms("duration_ms", r.duration_ms);
  num("prompt_tokens", r.prompt_tokens);
  num("cached_tokens", r.cached_tokens);
  num("completion_tokens", r.completion_tokens);
  str("violation", r.violation);
  str("error_type", r.error_type);
  if (r.prompt_text) str("prompt_text", *r.prompt_text);
  if (r.completion_text) str("completion_text", *r.completion_text);
  str("prev_hash", r.prev_hash);
  str("hash", r.hash);
  out.push_back('}');
}

std::string recordToJson(const Record& r) {
  std::string out;
  out.reserve(768);
  appendRecordJson(out, r);
  return out;
}

}  // namespace regiongate::audit
