// libFuzzer target for the audit parsers: stored segments (decodeSegment: the JSON array of
// records a store row holds, and SegmentScanner over it), the stored attempts column
// (parseAttemptsJson), the --since time argument (parseTimeArg) and exported chain heads
// (parseHeads, verify --heads). Checks round trips, not just absence of crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string_view>
#include <vector>

#include "audit/heads.h"
#include "audit/query.h"
#include "audit/record.h"
#include "audit/segment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace regiongate::audit;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto attempts = parseAttemptsJson(in);
  if (attempts.ok()) {
    // What we write must parse back to the same canonical form.
    Record a, b;
    a.attempts = attempts.value();
    auto again = parseAttemptsJson(attemptsToJson(a.attempts));
    if (!again.ok()) std::abort();
    b.attempts = again.value();
    if (canonicalEncoding(a) != canonicalEncoding(b)) std::abort();
  }
  (void)decodeStoredAttempts(in);

  // A segment as read back from a store: never fails; well-formed records round-trip through
  // makeSegment to the same canonical encoding and hashes.
  std::vector<Record> recs = decodeSegment("r", 1, in);
  bool clean = !recs.empty();
  for (const Record& r : recs) clean = clean && (r.prev_hash.empty() || r.prev_hash[0] != '<');
  if (clean) {
    Segment seg = makeSegment(recs, 0, recs.size());
    std::vector<Record> back = decodeSegment(seg.replica_id, seg.first_seq, seg.records);
    if (back.size() != recs.size()) std::abort();
    for (size_t i = 0; i < recs.size(); ++i)
      if (canonicalEncoding(back[i]) != canonicalEncoding(recs[i]) ||
          back[i].hash != recs[i].hash || back[i].prev_hash != recs[i].prev_hash)
        std::abort();
  }
  // The scanner emits every record once in chain order, and as many in time order.
  for (bool chain : {true, false}) {
    ScanQuery q;
    q.chain_order = chain;
    size_t n = 0;
    std::function<bool(const Record&)> fn = [&](const Record&) { return ++n > 0; };
    SegmentScanner scanner(q, fn);
    scanner.add("r", 1, recs.empty() ? 0 : recs.front().ts_us, in);
    scanner.finish();
    if (n != recs.size()) std::abort();
  }
  // Exported heads: what parses is printed back by headToJson to the same set.
  auto heads = parseHeads(in);
  if (heads.ok()) {
    std::string text;
    for (const auto& [chain, at] : heads->by_chain)
      for (const auto& [seq, hash] : at)
        text += headToJson(ExportedHead{chain.first, chain.second, seq, hash, 0}) + "\n";
    auto back = parseHeads(text);
    if (!back.ok() || back->by_chain != heads->by_chain) std::abort();
  }
  auto t = parseTimeArg(in);
  if (t.ok() && t.value() >= 0 && t.value() < 253402300800000000LL) {
    auto back = parseTimeArg(formatTimeUs(t.value()));
    if (!back.ok() || back.value() != t.value()) std::abort();
  }
  return 0;
}
