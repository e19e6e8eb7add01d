#pragma once
// Provider geographies as data: every provider region, Bedrock inference-profile geography,
// Azure data zone, Anthropic inference_geo value and OpenAI residency region regiongate knows,
// with the countries where each may process a request, the page it comes from and the day that
// page was read. The table is data/provider_geographies.csv, embedded at build time; the proof
// and the evidence judgement both read it (docs/providers.md says how to update a row).
//
// Immutable after the first call to builtin(); safe to read from any thread.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace regiongate::legal {

struct ProviderGeography {
  std::string provider;  // "aws" | "azure" | "anthropic" | "openai"
  std::string kind;      // "region" (one country) or a geography kind: "bedrock_profile",
                         // "data_zone", "deployment", "inference_geo", "residency"
  std::string name;      // as the provider spells it: "eu-central-1", "swedencentral", "eu", "us"
  std::vector<std::string> countries;  // sorted ISO codes; empty when `anywhere`
  bool anywhere = false;               // "*": any country (global routing)
  std::string source;                  // URL of the page the row comes from
  std::string read_on;                 // YYYY-MM-DD
  std::string note;

  bool isRegion() const { return kind == "region"; }
};

class ProviderGeographies {
 public:
  // The embedded table, parsed once. A malformed table (a build defect) leaves it empty and
  // error() non-empty; the config loader refuses every config then, naming the problem.
  static const ProviderGeographies& builtin();
  // Parses the CSV format of data/provider_geographies.csv ('#' lines are comments).
  static Result<ProviderGeographies> parse(std::string_view csv);

  const std::string& error() const { return error_; }
  std::span<const ProviderGeography> all() const { return rows_; }

  // A provider region by name, whatever the provider (names do not collide across providers).
  // Compared ignoring ASCII case and spaces, so Azure's "Sweden Central" finds "swedencentral".
  const ProviderGeography* region(std::string_view name) const;
  // A geography (any kind but "region") of one provider, compared like region().
  const ProviderGeography* geography(std::string_view provider, std::string_view name) const;
  // A row by provider, kind and exact name (the config names rows this way).
  const ProviderGeography* find(std::string_view provider, std::string_view kind,
                                std::string_view name) const;

 private:
  std::vector<ProviderGeography> rows_;
  std::string error_;
};

// Equal ignoring ASCII case and spaces ("Sweden Central" == "swedencentral").
bool looseEquals(std::string_view a, std::string_view b);

}  // namespace regiongate::legal
