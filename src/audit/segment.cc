#include "audit/segment.h"

#include <simdjson.h>

#include <algorithm>
#include <limits>

namespace regiongate::audit {
namespace {

using simdjson::dom::element;

// Marks `r` as unreadable: the reason goes where `audit verify` prints it (prev_hash, "found").
void markBroken(Record& r, std::string reason) {
  r.prev_hash = "<" + std::move(reason) + ">";
}

bool getString(element v, std::string& out) {
  std::string_view sv;
  if (v.get_string().get(sv)) return false;
  out.assign(sv);
  return true;
}

bool getInt(element v, int64_t& out) { return !v.get_int64().get(out); }

// Milliseconds as the writer stores them: finite and within +-1e12 (normalizeRecord). A value
// outside that range was not written by a writer, and would not encode back to the same text.
bool getMs(element v, double& out) {
  if (v.get_double().get(out)) {
    int64_t i = 0;
    if (v.get_int64().get(i)) return false;
    out = static_cast<double>(i);
  }
  return out >= -1e12 && out <= 1e12;
}

// One element of a segment's array -> Record. Lenient on purpose (see segment.h): a problem is
// recorded in prev_hash and decoding goes on, so the record still counts and verify breaks here.
Record decodeRecord(element el, std::string_view replica_id, int64_t fallback_seq) {
  Record r;
  r.replica_id = replica_id;
  r.seq = fallback_seq;
  simdjson::dom::object obj;
  if (el.get_object().get(obj)) {
    markBroken(r, "malformed record: not a JSON object");
    return r;
  }
  std::string problem;
  auto bad = [&](std::string_view key, const char* what) {
    if (problem.empty()) problem = "malformed record: " + std::string(key) + " " + what;
  };
  for (auto kv : obj) {
    const std::string_view k = kv.key;
    const element v = kv.value;
    bool ok = true;
    if (k == "replica_id") ok = getString(v, r.replica_id);
    else if (k == "seq") ok = getInt(v, r.seq);
    else if (k == "ts_us") ok = getInt(v, r.ts_us);
    else if (k == "request_id") ok = getString(v, r.request_id);
    else if (k == "tenant") ok = getString(v, r.tenant);
    else if (k == "jurisdiction") ok = getString(v, r.jurisdiction);
    else if (k == "model") ok = getString(v, r.model);
    else if (k == "model_version") ok = getString(v, r.model_version);
    else if (k == "intended_region") ok = getString(v, r.intended_region);
    else if (k == "actual_region") ok = getString(v, r.actual_region);
    else if (k == "evidence") ok = getString(v, r.evidence);
    else if (k == "evidence_value") ok = getString(v, r.evidence_value);
    else if (k == "endpoint") ok = getString(v, r.endpoint);
    else if (k == "violation") ok = getString(v, r.violation);
    else if (k == "error_type") ok = getString(v, r.error_type);
    else if (k == "prev_hash") ok = getString(v, r.prev_hash);
    else if (k == "hash") ok = getString(v, r.hash);
    else if (k == "prompt_text") ok = getString(v, r.prompt_text.emplace());
    else if (k == "completion_text") ok = getString(v, r.completion_text.emplace());
    else if (k == "ttft_ms" || k == "duration_ms") {
      if (!getMs(v, k == "ttft_ms" ? r.ttft_ms : r.duration_ms))
        bad(k, "is not a number of milliseconds within +-1e12");
      continue;
    }
    else if (k == "prompt_tokens") ok = getInt(v, r.prompt_tokens);
    else if (k == "cached_tokens") ok = getInt(v, r.cached_tokens);
    else if (k == "completion_tokens") ok = getInt(v, r.completion_tokens);
    else if (k == "status") {
      int64_t s = 0;
      ok = getInt(v, s) && s >= std::numeric_limits<int>::min() &&
           s <= std::numeric_limits<int>::max();
      r.status = static_cast<int>(s);
    } else if (k == "attempts") {
      auto parsed = parseAttemptsJson(simdjson::to_string(v));
      if (parsed.ok()) {
        r.attempts = std::move(parsed.value());
      } else {
        problem = "malformed record: " + parsed.error().message;
      }
    } else {
      bad(k, "is not an audit field");
      continue;
    }
    if (!ok) bad(k, "has the wrong type");
  }
  if (!problem.empty()) markBroken(r, problem);
  return r;
}

}  // namespace

Segment makeSegment(const std::vector<Record>& batch, size_t begin, size_t end) {
  Segment s;
  if (begin >= end) return s;
  const Record& first = batch[begin];
  s.replica_id = first.replica_id;
  s.first_seq = first.seq;
  s.last_seq = batch[end - 1].seq;
  s.min_ts_us = s.max_ts_us = first.ts_us;
  s.record_count = static_cast<int64_t>(end - begin);
  size_t bytes = 2;
  for (size_t i = begin; i < end; ++i) {
    bytes += 640;
    if (batch[i].prompt_text) bytes += batch[i].prompt_text->size() + 16;
    if (batch[i].completion_text) bytes += batch[i].completion_text->size() + 16;
  }
  s.records.reserve(bytes);
  s.records.push_back('[');
  for (size_t i = begin; i < end; ++i) {
    const Record& r = batch[i];
    s.min_ts_us = std::min(s.min_ts_us, r.ts_us);
    s.max_ts_us = std::max(s.max_ts_us, r.ts_us);
    if (!r.violation.empty()) ++s.violations;
    if (i != begin) s.records.push_back(',');
    appendRecordJson(s.records, r);
  }
  s.records.push_back(']');
  return s;
}

std::vector<Record> decodeSegment(std::string_view replica_id, int64_t first_seq,
                                  std::string_view records_json) {
  std::vector<Record> out;
  // One parser per thread: readers decode many segments; its buffers are reused.
  thread_local simdjson::dom::parser parser;
  element doc;
  simdjson::dom::array arr;
  auto err = parser.parse(records_json.data(), records_json.size()).get(doc);
  if (!err) err = doc.get_array().get(arr);
  if (err) {
    Record r;
    r.replica_id = replica_id;
    r.seq = first_seq;
    markBroken(r, "unreadable segment at first_seq " + std::to_string(first_seq) + ": " +
                      simdjson::error_message(err));
    out.push_back(std::move(r));
    return out;
  }
  out.reserve(arr.size());
  int64_t seq = first_seq;
  for (element el : arr) out.push_back(decodeRecord(el, replica_id, seq++));
  return out;
}

bool SegmentScanner::Later::operator()(const Record& a, const Record& b) const {
  if (a.ts_us != b.ts_us) return a.ts_us > b.ts_us;
  if (a.replica_id != b.replica_id) return a.replica_id > b.replica_id;
  return a.seq > b.seq;
}

SegmentScanner::SegmentScanner(const ScanQuery& q, const std::function<bool(const Record&)>& fn)
    : q_(q), fn_(fn) {}

bool SegmentScanner::matches(const Record& r) const {
  if (q_.since_us && r.ts_us < *q_.since_us) return false;
  if (q_.until_us && r.ts_us >= *q_.until_us) return false;
  if (q_.request_id && r.request_id != *q_.request_id) return false;
  if (q_.tenant && r.tenant != *q_.tenant) return false;
  if (q_.violations_only && r.violation.empty()) return false;
  return true;
}

bool SegmentScanner::emit(const Record& r) {
  if (stopped_) return false;
  if (q_.limit >= 0 && emitted_ >= q_.limit) {
    stopped_ = true;
    return false;
  }
  ++emitted_;
  if (!fn_(r) || (q_.limit >= 0 && emitted_ >= q_.limit)) stopped_ = true;
  return !stopped_;
}

bool SegmentScanner::add(std::string_view replica_id, int64_t first_seq, int64_t min_ts_us,
                         std::string_view records_json) {
  if (stopped_) return false;
  std::vector<Record> recs = decodeSegment(replica_id, first_seq, records_json);
  if (q_.chain_order) {
    for (const Record& r : recs)
      if (matches(r) && !emit(r)) return false;
    return true;
  }
  // Time order: nothing in this or a later segment is older than min_ts_us, so every held record
  // strictly older can go out now.
  while (!held_.empty() && held_.top().ts_us < min_ts_us) {
    if (!emit(held_.top())) return false;
    held_.pop();
  }
  for (Record& r : recs)
    if (matches(r)) held_.push(std::move(r));
  return true;
}

void SegmentScanner::finish() {
  while (!held_.empty() && !stopped_) {
    emit(held_.top());
    held_.pop();
  }
}

}  // namespace regiongate::audit
