// libFuzzer target: the audit spill reader (audit/spill.h), which reads back a file from a
// world-writable directory after a crash. Any bytes must parse without crashing, and whatever
// it returns must be what recovery relies on: groups of consecutive records whose hashes hold.
// The input is tried raw, and as the payload of one well-framed entry (valid header and
// checksum), so that the JSON and chain checks behind the checksum are reached.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/record.h"
#include "audit/spill.h"

namespace {

void checkGroups(std::string_view bytes) {
  using namespace regiongate::audit;
  for (const auto& g : parseSpill(bytes)) {
    if (g.records.empty() || g.last_seq - g.first_seq + 1 != static_cast<int64_t>(g.records.size()))
      std::abort();
    for (size_t i = 0; i < g.records.size(); ++i) {
      const Record& r = g.records[i];
      if (r.seq != g.first_seq + static_cast<int64_t>(i)) std::abort();
      if (r.hash != recordHash(r.prev_hash, r)) std::abort();
      if (i > 0 && r.prev_hash != g.records[i - 1].hash) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  checkGroups(in);
  // The first 8 bytes choose the entry's first seq; the rest is its payload.
  int64_t first = 1;
  std::string_view payload = in;
  if (size >= 8) {
    first = static_cast<int64_t>(data[0] % 4) + 1;
    payload = in.substr(8);
  }
  std::string framed;
  regiongate::audit::encodeSpillEntry(framed, first, first + static_cast<int64_t>(size % 3), payload);
  framed.append(in.substr(0, size / 2));  // and whatever follows it
  checkGroups(framed);
  return 0;
}
