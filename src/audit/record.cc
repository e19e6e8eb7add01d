#include "audit/record.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/hash.h"
#include "common/json.h"

namespace regiongate::audit {
namespace {

// Milliseconds with exactly 3 decimals (std::to_chars is specified as printf("%.3f") without
// the locale, and needs no allocation); one spelling of zero.
std::string_view msText(char (&buf)[64], double ms) {
  auto res = std::to_chars(buf, buf + sizeof(buf), ms, std::chars_format::fixed, 3);
  std::string_view v(buf, res.ec == std::errc() ? static_cast<size_t>(res.ptr - buf) : 0);
  if (v == "-0.000") v.remove_prefix(1);
  return v;
}

// The writer thread encodes every record twice (the canonical encoding for its hash, the JSON
// for its segment). Both are written through a raw cursor into per-thread scratch space sized
// for the record's worst case once, instead of std::string::append per piece (a capacity check
// and an out-of-line copy for each of ~150 pieces per record: ~40 % of the encoding's CPU in
// BM_AuditWriterCpu before this).
class Cursor {
public:
  explicit Cursor(char* p) : p_(p) {}
  void put(char c) { *p_++ = c; }
  void put(std::string_view s) {
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void putInt(int64_t v) { p_ = std::to_chars(p_, p_ + kMaxInt, v).ptr; }
  void putMs(double ms) {
    char buf[64];
    put(msText(buf, ms));
  }
  void putJson(std::string_view s) { p_ = writeJsonString(p_, s); }
  char* end() const { return p_; }

  static constexpr size_t kMaxInt = 24;  // int64 in decimal, with sign
  static constexpr size_t kMaxMsText = 64;  // msText's buffer

private:
  char* p_;
};

// Per-thread scratch space, grown to the largest record seen and kept.
char* scratch(size_t n) {
  thread_local std::unique_ptr<char[]> buf;
  thread_local size_t cap = 0;
  if (cap < n) {
    cap = std::max(n, size_t{4096});
    buf = std::make_unique_for_overwrite<char[]>(cap);
  }
  return buf.get();
}

size_t textBytes(const Record& r) {
  size_t n = r.replica_id.size() + r.request_id.size() + r.tenant.size() +
             r.jurisdiction.size() + r.model.size() + r.model_version.size() +
             r.intended_region.size() + r.actual_region.size() + r.evidence.size() +
             r.evidence_value.size() + r.endpoint.size() + r.violation.size() +
             r.error_type.size() + r.prev_hash.size() + r.hash.size();
  for (const auto& a : r.attempts) n += a.endpoint.size() + a.region.size() + a.outcome.size();
  if (r.prompt_text) n += r.prompt_text->size();
  if (r.completion_text) n += r.completion_text->size();
  return n;
}

// Upper bounds: every field's name and punctuation (< 32 bytes), its number (<= kMaxMsText) and its
// text (JSON: escaped, <= 6 bytes per byte + quotes).
size_t fieldCount(const Record& r) { return 32 + 4 * r.attempts.size(); }
size_t canonicalMaxBytes(const Record& r) {
  return 32 + fieldCount(r) * (32 + Cursor::kMaxInt + Cursor::kMaxMsText) + textBytes(r);
}
size_t jsonMaxBytes(const Record& r) {
  return 32 + fieldCount(r) * (32 + Cursor::kMaxMsText + 2) + jsonStringMaxBytes(textBytes(r));
}

void field(Cursor& c, std::string_view name, std::string_view value) {
  c.put(name);
  c.put('=');
  c.putInt(static_cast<int64_t>(value.size()));
  c.put(':');
  c.put(value);
  c.put('\n');
}

void fieldInt(Cursor& c, std::string_view name, int64_t v) {
  char buf[Cursor::kMaxInt];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  field(c, name, std::string_view(buf, static_cast<size_t>(res.ptr - buf)));
}

void fieldMs(Cursor& c, std::string_view name, double ms) {
  char buf[64];
  field(c, name, msText(buf, ms));
}

void fieldOpt(Cursor& c, std::string_view name, const std::optional<std::string>& v) {
  if (v) {
    field(c, name, *v);
  } else {
    c.put(name);
    c.put("=-\n");
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

namespace {

char* writeCanonicalEncoding(char* out, const Record& r) {
  Cursor c(out);
  c.put("regiongate-audit-v1\n");
  field(c, "replica_id", r.replica_id);
  fieldInt(c, "seq", r.seq);
  fieldInt(c, "ts_us", r.ts_us);
  field(c, "request_id", r.request_id);
  field(c, "tenant", r.tenant);
  field(c, "jurisdiction", r.jurisdiction);
  field(c, "model", r.model);
  field(c, "model_version", r.model_version);
  field(c, "intended_region", r.intended_region);
  field(c, "actual_region", r.actual_region);
  field(c, "evidence", r.evidence);
  field(c, "evidence_value", r.evidence_value);
  field(c, "endpoint", r.endpoint);
  fieldInt(c, "attempts", static_cast<int64_t>(r.attempts.size()));
  for (const auto& a : r.attempts) {
    field(c, "attempt.endpoint", a.endpoint);
    field(c, "attempt.region", a.region);
    field(c, "attempt.outcome", a.outcome);
    fieldMs(c, "attempt.ms", a.ms);
  }
  fieldInt(c, "status", r.status);
  fieldMs(c, "ttft_ms", r.ttft_ms);
  fieldMs(c, "duration_ms", r.duration_ms);
  fieldInt(c, "prompt_tokens", r.prompt_tokens);
  fieldInt(c, "cached_tokens", r.cached_tokens);
  fieldInt(c, "completion_tokens", r.completion_tokens);
  field(c, "violation", r.violation);
  field(c, "error_type", r.error_type);
  fieldOpt(c, "prompt_text", r.prompt_text);
  fieldOpt(c, "completion_text", r.completion_text);
  return c.end();
}

void writeAttemptsJson(Cursor& c, const std::vector<Attempt>& attempts) {
  c.put('[');
  for (size_t i = 0; i < attempts.size(); ++i) {
    const auto& a = attempts[i];
    if (i) c.put(',');
    c.put("{\"endpoint\":");
    c.putJson(a.endpoint);
    c.put(",\"region\":");
    c.putJson(a.region);
    c.put(",\"outcome\":");
    c.putJson(a.outcome);
    c.put(",\"ms\":");
    c.putMs(a.ms);
    c.put('}');
  }
  c.put(']');
}

}  // namespace

void appendCanonicalEncoding(std::string& out, const Record& r) {
  char* buf = scratch(canonicalMaxBytes(r));
  out.append(buf, static_cast<size_t>(writeCanonicalEncoding(buf, r) - buf));
}

std::string canonicalEncoding(const Record& r) {
  std::string out;
  appendCanonicalEncoding(out, r);
  return out;
}

std::string recordHash(std::string_view prev_hash, const Record& rec) {
  // prev_hash || encoding, hashed where it was written (no copy, no allocation once warm).
  char* buf = scratch(prev_hash.size() + canonicalMaxBytes(rec));
  if (!prev_hash.empty()) std::memcpy(buf, prev_hash.data(), prev_hash.size());
  char* end = writeCanonicalEncoding(buf + prev_hash.size(), rec);
  return sha256Hex(std::string_view(buf, static_cast<size_t>(end - buf)));
}

void appendAttemptsJson(std::string& out, const std::vector<Attempt>& attempts) {
  size_t bound = 2;
  for (const auto& a : attempts)
    bound += 48 + Cursor::kMaxMsText +
             jsonStringMaxBytes(a.endpoint.size() + a.region.size() + a.outcome.size());
  char* buf = scratch(bound);
  Cursor c(buf);
  writeAttemptsJson(c, attempts);
  out.append(buf, static_cast<size_t>(c.end() - buf));
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
  char* buf = scratch(jsonMaxBytes(r));
  Cursor c(buf);
  bool first = true;
  auto key = [&](std::string_view k) {
    c.put(first ? "{\"" : ",\"");
    first = false;
    c.put(k);  // keys are plain identifiers: no escaping needed
    c.put("\":");
  };
  auto str = [&](std::string_view k, std::string_view v) {
    key(k);
    c.putJson(v);
  };
  auto num = [&](std::string_view k, int64_t v) {
    key(k);
    c.putInt(v);
  };
  auto ms = [&](std::string_view k, double v) {
    key(k);
    c.putMs(v);
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
  writeAttemptsJson(c, r.attempts);
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
  c.put('}');
  out.append(buf, static_cast<size_t>(c.end() - buf));
}

std::string recordToJson(const Record& r) {
  std::string out;
  out.reserve(768);
  appendRecordJson(out, r);
  return out;
}

}  // namespace regiongate::audit
