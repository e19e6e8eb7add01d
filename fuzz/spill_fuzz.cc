// libFuzzer target: the audit spill reader (audit/spill.h), which reads back a file from a
// world-writable directory after a crash. Any bytes must parse without crashing, and whatever it
// returns must be what recovery relies on: unchained records (no seq, no hashes), read from
// within one lap of the committed mark.
// The input is tried raw, and behind a valid head as the payload of one well-framed entry (valid
// header and checksum), so that the JSON checks behind the checksum are reached.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "audit/record.h"
#include "audit/spill.h"

namespace {

void check(std::string_view bytes) {
  using namespace regiongate::audit;
  const SpillContents c = parseSpill(bytes);
  if (c.end < c.committed || (c.capacity && c.end - c.committed > c.capacity)) std::abort();
  if (!c.records.empty() && c.capacity == 0) std::abort();
  for (const Record& r : c.records)
    if (r.seq != 0 || !r.prev_hash.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace regiongate::audit;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check(in);
  // The first byte chooses the ring's capacity and mark; the rest is the entry's payload.
  const uint64_t capacity = 64 + (size ? data[0] : 0) * 64;
  const uint64_t committed = size > 1 ? data[1] % 4 * capacity : 0;
  std::string framed = encodeSpillHead(capacity, committed);
  encodeSpillEntry(framed, committed, size > 2 ? in.substr(2) : in);
  framed.append(in.substr(0, size / 2));  // and whatever follows it
  check(framed);
  return 0;
}
