#include <gtest/gtest.h>

#include <cmath>

#include "audit/checkpoint.h"
#include "audit/query.h"
#include "audit/record.h"
#include "common/hash.h"
#include "test_util.h"

namespace regiongate::audit {
namespace {

using testing::makeRecord;

TEST(CanonicalEncoding, DeterministicAndExcludesHashes) {
  Record a = makeRecord(5);
  Record b = makeRecord(5);
  b.prev_hash = "ff";
  b.hash = "ee";
  EXPECT_EQ(canonicalEncoding(a), canonicalEncoding(b));
  EXPECT_EQ(canonicalEncoding(a).rfind("regiongate-audit-v1\n", 0), 0u);
}

TEST(CanonicalEncoding, EveryFieldChangesTheEncoding) {
  const Record base = makeRecord(10);
  const std::string enc = canonicalEncoding(base);
  std::vector<std::function<void(Record&)>> edits = {
      [](Record& r) { r.seq++; }, [](Record& r) { r.ts_us++; },
      [](Record& r) { r.request_id += "x"; }, [](Record& r) { r.tenant += "x"; },
      [](Record& r) { r.jurisdiction += "x"; }, [](Record& r) { r.model += "x"; },
      [](Record& r) { r.model_version += "x"; }, [](Record& r) { r.intended_region += "x"; },
      [](Record& r) { r.actual_region += "x"; }, [](Record& r) { r.evidence += "x"; },
      [](Record& r) { r.evidence_value += "x"; }, [](Record& r) { r.endpoint += "x"; },
      [](Record& r) { r.attempts.pop_back(); }, [](Record& r) { r.attempts[0].ms += 0.001; },
      [](Record& r) { r.attempts[0].outcome = "timeout"; }, [](Record& r) { r.status = 502; },
      [](Record& r) { r.ttft_ms += 0.001; }, [](Record& r) { r.duration_ms += 1; },
      [](Record& r) { r.prompt_tokens++; }, [](Record& r) { r.cached_tokens++; },
      [](Record& r) { r.completion_tokens++; }, [](Record& r) { r.violation = "x"; },
      [](Record& r) { r.error_type = "x"; }, [](Record& r) { r.prompt_text = std::nullopt; },
      [](Record& r) { r.completion_text = ""; }, [](Record& r) { r.replica_id += "x"; }};
  for (size_t i = 0; i < edits.size(); ++i) {
    Record r = base;
    edits[i](r);
    EXPECT_NE(canonicalEncoding(r), enc) << "edit #" << i;
  }
}

TEST(CanonicalEncoding, LengthPrefixingPreventsFieldShifting) {
  Record a = makeRecord(1), b = makeRecord(1);
  a.tenant = "ab";
  a.model = "c";
  b.tenant = "a";
  b.model = "bc";
  EXPECT_NE(canonicalEncoding(a), canonicalEncoding(b));
  Record c = makeRecord(1), d = makeRecord(1);
  c.prompt_text = std::nullopt;
  d.prompt_text = "-";
  EXPECT_NE(canonicalEncoding(c), canonicalEncoding(d));
}

// A fixed record with literal values (not makeRecord, so that changing the test helpers cannot
// move the golden copies below).
Record goldenRecord() {
  Record r;
  r.replica_id = "gw-1";
  r.seq = 42;
  r.ts_us = 1764000000123456;
  r.request_id = "req-42";
  r.tenant = "acme-bank";
  r.jurisdiction = "EU";
  r.model = "llama-3.1-8b";
  r.model_version = "v2";
  r.intended_region = "eu-central-1";
  r.actual_region = "eu-west-1";
  r.evidence = "header:x-inference-region";
  r.evidence_value = "eu-west-1";
  r.endpoint = "dub-a";
  r.attempts = {{"fra-a", "eu-central-1", "status_503", 12.5}, {"dub-a", "eu-west-1", "ok", 0.25}};
  r.status = 200;
  r.ttft_ms = 87.125;
  r.duration_ms = 1503.0;
  r.prompt_tokens = 1200;
  r.cached_tokens = 1024;
  r.completion_tokens = 96;
  r.prompt_text = "Bonjour \"monde\"\n\xc3\xa9t\xc3\xa9";
  return r;
}

// The canonical encoding defines every stored hash: a store written by any earlier build must
// keep verifying. This pins its exact bytes and one chained hash.
TEST(CanonicalEncoding, GoldenBytesAndHashNeverChange) {
  const Record r = goldenRecord();
  const std::string expected =
      "regiongate-audit-v1\n"
      "replica_id=4:gw-1\n"
      "seq=2:42\n"
      "ts_us=16:1764000000123456\n"
      "request_id=6:req-42\n"
      "tenant=9:acme-bank\n"
      "jurisdiction=2:EU\n"
      "model=12:llama-3.1-8b\n"
      "model_version=2:v2\n"
      "intended_region=12:eu-central-1\n"
      "actual_region=9:eu-west-1\n"
      "evidence=25:header:x-inference-region\n"
      "evidence_value=9:eu-west-1\n"
      "endpoint=5:dub-a\n"
      "attempts=1:2\n"
      "attempt.endpoint=5:fra-a\n"
      "attempt.region=12:eu-central-1\n"
      "attempt.outcome=10:status_503\n"
      "attempt.ms=6:12.500\n"
      "attempt.endpoint=5:dub-a\n"
      "attempt.region=9:eu-west-1\n"
      "attempt.outcome=2:ok\n"
      "attempt.ms=5:0.250\n"
      "status=3:200\n"
      "ttft_ms=6:87.125\n"
      "duration_ms=8:1503.000\n"
      "prompt_tokens=4:1200\n"
      "cached_tokens=4:1024\n"
      "completion_tokens=2:96\n"
      "violation=0:\n"
      "error_type=0:\n"
      "prompt_text=21:Bonjour \"monde\"\n\xc3\xa9t\xc3\xa9\n"
      "completion_text=-\n";
  EXPECT_EQ(canonicalEncoding(r), expected);
  EXPECT_EQ(recordHash(std::string(kGenesisHash), r),
            "65db52376f25d24e0f845d20da8bd6e51a6347eb2100af9e60b50a41e9a97562");
}

// The stored segment JSON (what `audit query --format jsonl` prints): escaping and number
// formats pinned.
TEST(RecordJson, GoldenText) {
  Record r = goldenRecord();
  r.prompt_text = "Bonjour \"monde\"\n\xc3\xa9t\xc3\xa9\t\x01\\";
  r.completion_text = "";
  r.prev_hash = std::string(kGenesisHash);
  r.hash = "ab";
  EXPECT_EQ(
      recordToJson(r),
      R"({"replica_id":"gw-1","seq":42,"ts_us":1764000000123456,"request_id":"req-42",)"
      R"("tenant":"acme-bank","jurisdiction":"EU","model":"llama-3.1-8b","model_version":"v2",)"
      R"("intended_region":"eu-central-1","actual_region":"eu-west-1",)"
      R"("evidence":"header:x-inference-region","evidence_value":"eu-west-1","endpoint":"dub-a",)"
      R"("attempts":[{"endpoint":"fra-a","region":"eu-central-1","outcome":"status_503",)"
      R"("ms":12.500},{"endpoint":"dub-a","region":"eu-west-1","outcome":"ok","ms":0.250}],)"
      R"("status":200,"ttft_ms":87.125,"duration_ms":1503.000,"prompt_tokens":1200,)"
      R"("cached_tokens":1024,"completion_tokens":96,"violation":"","error_type":"",)"
      "\"prompt_text\":\"Bonjour \\\"monde\\\"\\n\xc3\xa9t\xc3\xa9\\t\\u0001\\\\\","
      R"("completion_text":"","prev_hash":")" + std::string(kGenesisHash) + R"(","hash":"ab"})");
}

TEST(RecordHash, IsSha256OfPrevAndEncoding) {
  Record r = makeRecord(3);
  std::string prev(kGenesisHash);
  EXPECT_EQ(recordHash(prev, r), sha256Hex(prev + canonicalEncoding(r)));
  EXPECT_NE(recordHash(prev, r), recordHash(std::string(64, '1'), r));
}

TEST(Attempts, JsonRoundTrip) {
  Record r = makeRecord(2);
  r.attempts.push_back({"we\"ird\\", "r\n", "status_5xx", 0.0005});
  auto parsed = parseAttemptsJson(attemptsToJson(r.attempts));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), r.attempts.size());
  Record back = r;
  back.attempts = *parsed;
  EXPECT_EQ(canonicalEncoding(back), canonicalEncoding(r));
  EXPECT_EQ((*parsed)[2].endpoint, "we\"ird\\");
}

TEST(Attempts, RejectsBadShapes) {
  for (const char* bad : {"", "{}", "[1]", "[{\"ms\":\"x\"}]", "[{\"endpoint\":1}]",
                          "[{\"other\":\"x\"}]", "[{\"endpoint\":\"a\""})
    EXPECT_FALSE(parseAttemptsJson(bad).ok()) << bad;
  EXPECT_TRUE(parseAttemptsJson("[]").ok());
  auto v = parseAttemptsJson(R"([{"ms":7}])");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[0].ms, 7.0);
}

TEST(Attempts, UnparseableStoredColumnBecomesAMarker) {
  auto a = decodeStoredAttempts("not json");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NE(a[0].outcome.find("unparseable"), std::string::npos);
}

TEST(RecordJson, ContainsFieldsAndOmitsAbsentText) {
  Record r = makeRecord(1);
  r.prompt_text.reset();
  std::string j = recordToJson(r);
  EXPECT_NE(j.find("\"request_id\":\"req-1\""), std::string::npos);
  EXPECT_EQ(j.find("prompt_text"), std::string::npos);
  r.prompt_text = "p";
  EXPECT_NE(recordToJson(r).find("\"prompt_text\":\"p\""), std::string::npos);
}

TEST(Checkpoint, MacDetectsEveryFieldChange) {
  const std::string key = "0123456789abcdef-key";
  Checkpoint cp{"replica-a", 42, std::string(64, 'a'), 1700000000000000, ""};
  signCheckpoint(cp, key);
  ASSERT_EQ(cp.mac.size(), 64u);
  EXPECT_TRUE(checkpointMacValid(cp, key));
  EXPECT_FALSE(checkpointMacValid(cp, "another-key-0123456"));
  for (int i = 0; i < 4; ++i) {
    Checkpoint c = cp;
    if (i == 0) c.seq++;
    if (i == 1) c.hash[0] = 'b';
    if (i == 2) c.ts_us++;
    if (i == 3) c.replica_id = "replica-b";
    EXPECT_FALSE(checkpointMacValid(c, key)) << i;
  }
  Checkpoint unsigned_cp = cp;
  signCheckpoint(unsigned_cp, "");
  EXPECT_TRUE(unsigned_cp.mac.empty());
  EXPECT_FALSE(checkpointMacValid(unsigned_cp, key));
}

TEST(Checkpoint, Rfc4231Vector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(TimeArg, UnixSecondsAndRfc3339) {
  EXPECT_EQ(parseTimeArg("1700000000").value(), 1700000000LL * 1000000);
  EXPECT_EQ(parseTimeArg("1700000000.25").value(), 1700000000LL * 1000000 + 250000);
  EXPECT_EQ(parseTimeArg("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(parseTimeArg("2023-11-14T22:13:20Z").value(), 1700000000LL * 1000000);
  EXPECT_EQ(parseTimeArg("2023-11-15T00:13:20.5+02:00").value(),
            1700000000LL * 1000000 + 500000);
  EXPECT_EQ(parseTimeArg("2023-11-14t22:13:20z").value(), 1700000000LL * 1000000);
  for (const char* bad : {"", "abc", "2023-11-14", "2023-11-14T22:13:20", "2023-13-14T22:13:20Z",
                          "2023-11-14T22:13:20Zjunk", "1.2.3", "2023-11-14T22:13:20+0200",
                          "2023-02-29T00:00:00Z"})
    EXPECT_FALSE(parseTimeArg(bad).ok()) << bad;
}

TEST(TimeArg, FormatRoundTrips) {
  for (int64_t us : {0LL, 1700000000123456LL, 951782400000000LL /* 2000-02-29 */}) {
    auto back = parseTimeArg(formatTimeUs(us));
    ASSERT_TRUE(back.ok()) << formatTimeUs(us);
    EXPECT_EQ(back.value(), us);
  }
  EXPECT_EQ(formatTimeUs(1700000000000000), "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(formatTimeUs(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(QueryTable, HasHeaderAndOneLinePerRecord) {
  std::vector<Record> rs = {makeRecord(1), makeRecord(7)};
  std::string t = formatTable(rs);
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 3);
  EXPECT_NE(t.find("outside_jurisdiction"), std::string::npos);
  EXPECT_NE(t.find("req-7"), std::string::npos);
}

}  // namespace
}  // namespace regiongate::audit

namespace regiongate::audit {
namespace {

TEST(NormalizeRecord, MakesTextValidUtf8AndMillisecondsFinite) {
  Record r = testing::makeRecord(1);
  r.tenant = std::string("a\0b", 3);
  r.endpoint = "caf\xc3\xa9";         // valid UTF-8 stays
  r.model = "bad\xff\xc3";            // invalid bytes -> U+FFFD
  r.ttft_ms = std::nan("");
  r.attempts[0].ms = 1e300;
  normalizeRecord(r);
  EXPECT_EQ(r.tenant, "a\xef\xbf\xbd" "b");
  EXPECT_EQ(r.endpoint, "caf\xc3\xa9");
  EXPECT_EQ(r.model, "bad\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(r.ttft_ms, -1);
  EXPECT_EQ(r.attempts[0].ms, 1e12);
  // Now the stored attempts column parses back to the same encoding.
  auto back = parseAttemptsJson(attemptsToJson(r.attempts));
  ASSERT_TRUE(back.ok());
  Record b = r;
  b.attempts = *back;
  EXPECT_EQ(canonicalEncoding(b), canonicalEncoding(r));
}

// The clean-text check runs 8 bytes at a time: a bad byte anywhere in a long string is found.
TEST(NormalizeRecord, FindsBadBytesPastTheFirstWords) {
  for (size_t pos : {0u, 7u, 8u, 15u, 16u, 20u}) {
    Record r = testing::makeRecord(1);
    r.request_id = std::string(21, 'x');
    r.request_id[pos] = '\0';
    r.evidence_value = std::string(21, 'y');
    r.evidence_value[pos] = '\xff';
    normalizeRecord(r);
    EXPECT_EQ(r.request_id,
              std::string(pos, 'x') + "\xef\xbf\xbd" + std::string(20 - pos, 'x')) << pos;
    EXPECT_EQ(r.evidence_value,
              std::string(pos, 'y') + "\xef\xbf\xbd" + std::string(20 - pos, 'y')) << pos;
  }
}

}  // namespace
}  // namespace regiongate::audit
