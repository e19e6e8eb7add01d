// libFuzzer target for the audit parsers: the stored attempts column (parseAttemptsJson) and
// the --since time argument (parseTimeArg). Checks round trips, not just absence of crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audit/query.h"
#include "audit/record.h"

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
  auto t = parseTimeArg(in);
  if (t.ok() && t.value() >= 0 && t.value() < 253402300800000000LL) {
    auto back = parseTimeArg(formatTimeUs(t.value()));
    if (!back.ok() || back.value() != t.value()) std::abort();
  }
  return 0;
}
