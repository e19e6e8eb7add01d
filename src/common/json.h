#pragma once
// Minimal JSON *writing* helpers (parsing is simdjson's job). Writing by hand because the hot path
// emits a handful of small fixed-shape objects (errors, usage, audit) where a DOM would only cost.
#include <string>
#include <string_view>

namespace regiongate {

// Appends `s` as a JSON string literal (with quotes), escaping per RFC 8259.
void appendJsonString(std::string& out, std::string_view s);
std::string jsonString(std::string_view s);

// The same literal written at `out`, which must have room for jsonStringMaxBytes(s.size());
// returns the end. For encoders that size their buffer once per record (audit/record.cc).
char* writeJsonString(char* out, std::string_view s);
constexpr size_t jsonStringMaxBytes(size_t n) { return 2 + 6 * n; }

// The OpenAI-shaped error body: {"error":{"message":..,"type":..,"code":..<extra>}}.
// `extra_fields` is raw JSON members (already encoded) appended inside "error", e.g.
// R"("jurisdiction":"EU","regions_tried":["eu-central-1"])". Empty for none.
std::string errorBody(std::string_view type, std::string_view code, std::string_view message,
                      std::string_view extra_fields = {});

}  // namespace regiongate
