#include "legal/provider_geographies.h"

#include <algorithm>
#include <set>

#include "legal/countries.h"
#include "legal/date.h"
#include "legal/legal_basis.h"
#include "legal/provider_geographies_csv.h"  // generated: kProviderGeographiesCsv

namespace regiongate::legal {

namespace {

constexpr size_t kColumns = 7;  // provider,kind,name,countries,source,read_on,note

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// One CSV record (RFC 4180 quoting, no line breaks inside fields).
Result<std::vector<std::string>> splitRecord(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) return Error::config("unterminated quoted field");
  return fields;
}

// "DE FR", "EU", "EEA CH" or "*" -> the row's country set.
Status parseCountries(std::string_view text, ProviderGeography& row) {
  std::set<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    if (j == i) break;
    std::string_view item = text.substr(i, j - i);
    i = j;
    if (item == "*") {
      row.anywhere = true;
    } else if (const Preset* p = findPreset(item)) {
      for (const auto& b : p->countries) out.emplace(b.country);
    } else if (const CountryInfo* c = findCountry(item); c && c->code == item) {
      out.emplace(c->code);
    } else {
      return Error::config("'" + std::string(item) +
                           "' is neither an upper-case ISO 3166-1 alpha-2 code, a preset nor *");
    }
  }
  if (row.anywhere && !out.empty()) return Error::config("'*' cannot be combined with countries");
  if (!row.anywhere && out.empty()) return Error::config("no countries");
  if (row.isRegion() && (row.anywhere || out.size() != 1))
    return Error::config("a region has exactly one country");
  row.countries.assign(out.begin(), out.end());
  return {};
}

Result<ProviderGeography> parseRow(const std::vector<std::string>& f) {
  if (f.size() != kColumns)
    return Error::config("expected " + std::to_string(kColumns) + " fields, got " +
                         std::to_string(f.size()));
  ProviderGeography row{f[0], f[1], f[2], {}, false, f[4], f[5], f[6]};
  static const std::set<std::string> kProviders = {"aws", "azure", "anthropic", "openai"};
  if (!kProviders.count(row.provider)) return Error::config("unknown provider '" + row.provider + "'");
  if (row.kind.empty() || row.name.empty()) return Error::config("empty kind or name");
  if (auto s = parseCountries(f[3], row); !s.ok()) return s.error();
  if (row.source.rfind("https://", 0) != 0) return Error::config("source must be an https:// URL");
  if (!parseDate(row.read_on)) return Error::config("read_on must be a date YYYY-MM-DD");
  return row;
}

}  // namespace

bool looseEquals(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  for (;;) {
    while (i < a.size() && a[i] == ' ') ++i;
    while (j < b.size() && b[j] == ' ') ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (lowerAscii(a[i]) != lowerAscii(b[j])) return false;
    ++i;
    ++j;
  }
}

Result<ProviderGeographies> ProviderGeographies::parse(std::string_view csv) {
  ProviderGeographies table;
  bool header_seen = false;
  int line_no = 0;
  std::set<std::string> keys;
  while (!csv.empty()) {
    size_t nl = csv.find('\n');
    std::string_view line = csv.substr(0, nl);
    csv.remove_prefix(nl == std::string_view::npos ? csv.size() : nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto where = [&](const std::string& m) {
      return Error::config("provider geographies line " + std::to_string(line_no) + ": " + m);
    };
    auto fields = splitRecord(line);
    if (!fields.ok()) return where(fields.error().message);
    if (!header_seen) {
      header_seen = true;
      if (fields->size() != kColumns || (*fields)[0] != "provider")
        return where("expected the header provider,kind,name,countries,source,read_on,note");
      continue;
    }
    auto row = parseRow(*fields);
    if (!row.ok()) return where(row.error().message);
    // Regions are looked up across providers, geographies within one: both must be unique.
    std::string key = row->isRegion() ? "region\x1f" + row->name
                                      : row->provider + "\x1f" + row->name;
    std::transform(key.begin(), key.end(), key.begin(), lowerAscii);
    if (!keys.insert(key).second) return where("duplicate name '" + row->name + "'");
    table.rows_.push_back(std::move(*row));
  }
  if (!header_seen) return Error::config("provider geographies: empty table");
  return table;
}

const ProviderGeographies& ProviderGeographies::builtin() {
  static const ProviderGeographies table = [] {
    auto parsed = parse(kProviderGeographiesCsv);
    if (parsed.ok()) return std::move(*parsed);
    ProviderGeographies empty;
    empty.error_ = parsed.error().message;
    return empty;
  }();
  return table;
}

const ProviderGeography* ProviderGeographies::region(std::string_view name) const {
  for (const auto& r : rows_)
    if (r.isRegion() && looseEquals(r.name, name)) return &r;
  return nullptr;
}

const ProviderGeography* ProviderGeographies::geography(std::string_view provider,
                                                        std::string_view name) const {
  for (const auto& r : rows_)
    if (!r.isRegion() && r.provider == provider && looseEquals(r.name, name)) return &r;
  return nullptr;
}

const ProviderGeography* ProviderGeographies::find(std::string_view provider, std::string_view kind,
                                                   std::string_view name) const {
  for (const auto& r : rows_)
    if (r.provider == provider && r.kind == kind && r.name == name) return &r;
  return nullptr;
}

}  // namespace regiongate::legal
