#pragma once
// Helpers for `regiongate audit query`: the --since parser and the table format.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record.h"
#include "common/result.h"

namespace regiongate::audit {

// "1700000000" / "1700000000.5" (unix seconds) or RFC 3339 ("2024-05-01T12:00:00Z",
// "2024-05-01T12:00:00.250+02:00", lower-case t/z and a space separator accepted).
// Returns µs since the epoch.
Result<int64_t> parseTimeArg(std::string_view s);

// RFC 3339 UTC with microseconds: "2024-05-01T12:00:00.000000Z".
std::string formatTimeUs(int64_t ts_us);

// A fixed-width table with a header line: time, jurisdiction, tenant, model, intended, actual,
// evidence, status, attempts, violation, request id.
std::string formatTable(const std::vector<Record>& records);

}  // namespace regiongate::audit
