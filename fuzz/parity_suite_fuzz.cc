// libFuzzer target: the parity suite parser (JSON lines) and the rollout state-file parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rollout/parity.h"
#include "rollout/prompt_sample.h"
#include "rollout/state_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto suite = regiongate::rollout::parseSuite(in, size % 2 ? "EU" : "");
  if (suite.ok())
    for (const auto& p : suite.value()) (void)regiongate::rollout::parityRequestBody(p, 42);
  auto recs = regiongate::rollout::recordsFromJson(in);
  if (recs.ok()) (void)regiongate::rollout::recordsToJson(recs.value());
  (void)regiongate::rollout::prewarmBody(in);
  (void)regiongate::rollout::parseModelVersions(in);
  (void)regiongate::rollout::completionText(in);
  return 0;
}
