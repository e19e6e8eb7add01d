#include "metrics/registry.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <unordered_map>

namespace regiongate::metrics {

namespace {

std::atomic<size_t> g_next_shard{0};
std::atomic<uint64_t> g_next_family_id{0};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using CellCache = std::unordered_map<std::string, void*, StringHash, std::equal_to<>>;

// Per-thread: family id -> (label key -> cell). Ids are never reused, so entries of a destroyed
// registry are simply never looked up again.
struct ThreadCache {
  std::vector<std::unique_ptr<CellCache>> by_family;
  std::string key;  // scratch buffer, reused to avoid allocating per lookup
};
thread_local ThreadCache t_cache;

constexpr char kSep = '\xff';

void buildKey(std::string& key, std::span<const std::string_view> values, size_t n) {
  key.clear();
  for (size_t i = 0; i < n; ++i) {
    if (i) key.push_back(kSep);
    if (i < values.size()) key.append(values[i]);
  }
}

}  // namespace

size_t threadShard() {
  thread_local size_t shard = g_next_shard.fetch_add(1, std::memory_order_relaxed) % kShards;
  return shard;
}

double Counter::value() const {
  double s = 0;
  for (const auto& p : shards_) s += p.v.load(std::memory_order_relaxed);
  return s;
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()) {
  shards_.reserve(kShards);
  for (size_t i = 0; i < kShards; ++i) shards_.push_back(std::make_unique<Shard>(bounds_.size() + 1));
}

void Histogram::observe(double v) {
  if (std::isnan(v)) return;
  // Bucket lists are short (~15); a linear scan beats binary search at this size.
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  Shard& s = *shards_[threadShard()];
  s.counts[i].fetch_add(1, std::memory_order_relaxed);
  s.sum.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  std::vector<uint64_t> counts(bounds_.size() + 1, 0);
  for (const auto& s : shards_) {
    for (size_t i = 0; i < counts.size(); ++i)
      counts[i] += s->counts[i].load(std::memory_order_relaxed);
    snap.sum += s->sum.load(std::memory_order_relaxed);
  }
  uint64_t acc = 0;
  snap.cumulative.reserve(counts.size());
  for (uint64_t c : counts) {
    acc += c;
    snap.cumulative.push_back(acc);
  }
  snap.count = acc;
  return snap;
}

std::vector<double> defaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
          0.5,   1.0,    2.5,   5.0,  10.0,  30.0, 60.0};
}

bool validMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool validLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__") || name == "le") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void appendEscapedLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
}

void appendEscapedHelp(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
}

void appendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.0f", v);
    out.append(buf, static_cast<size_t>(n));
  } else {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.17g", v);
    out.append(buf, static_cast<size_t>(n));
  }
}

FamilyBase::FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
                       MetricType type)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
      type_(type), id_(g_next_family_id.fetch_add(1, std::memory_order_relaxed)) {}

void* FamilyBase::cellFor(std::span<const std::string_view> values) {
  assert(values.size() == label_names_.size());
  ThreadCache& tc = t_cache;
  if (tc.by_family.size() <= id_) tc.by_family.resize(id_ + 1);
  auto& cache = tc.by_family[id_];
  if (!cache) cache = std::make_unique<CellCache>();
  buildKey(tc.key, values, label_names_.size());
  if (auto it = cache->find(std::string_view(tc.key)); it != cache->end()) return it->second;

  // First use of this label set on this thread: take the family lock.
  void* cell = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = cells_.find(std::string_view(tc.key));
    if (it == cells_.end()) {
      std::vector<std::string> vals;
      vals.reserve(label_names_.size());
      for (size_t i = 0; i < label_names_.size(); ++i)
        vals.emplace_back(i < values.size() ? values[i] : std::string_view{});
      it = cells_.emplace(tc.key, std::make_pair(std::move(vals), makeCell())).first;
    }
    cell = it->second.second.get();
  }
  cache->emplace(tc.key, cell);
  return cell;
}

void FamilyBase::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out.push_back(' ');
  appendEscapedHelp(out, help_);
  out += "\n# TYPE ";
  out += name_;
  switch (type_) {
    case MetricType::Counter: out += " counter\n"; break;
    case MetricType::Gauge: out += " gauge\n"; break;
    case MetricType::Histogram: out += " histogram\n"; break;
  }
  std::lock_guard lock(mu_);
  std::string labels;
  for (const auto& [key, entry] : cells_) {
    labels.clear();
    for (size_t i = 0; i < label_names_.size(); ++i) {
      if (i) labels.push_back(',');
      labels += label_names_[i];
      labels += "=\"";
      appendEscapedLabelValue(labels, entry.first[i]);
      labels.push_back('"');
    }
    renderCell(out, labels, entry.second.get());
  }
}

namespace {
void appendSample(std::string& out, std::string_view name, std::string_view suffix,
                  std::string_view labels, double v) {
  out += name;
  out += suffix;
  if (!labels.empty()) {
    out.push_back('{');
    out += labels;
    out.push_back('}');
  }
  out.push_back(' ');
  appendValue(out, v);
  out.push_back('\n');
}
}  // namespace

std::shared_ptr<void> CounterFamily::makeCell() { return std::make_shared<Counter>(); }
void CounterFamily::renderCell(std::string& out, const std::string& labels,
                               const void* cell) const {
  appendSample(out, name(), "", labels, static_cast<const Counter*>(cell)->value());
}

std::shared_ptr<void> GaugeFamily::makeCell() { return std::make_shared<Gauge>(); }
void GaugeFamily::renderCell(std::string& out, const std::string& labels, const void* cell) const {
  appendSample(out, name(), "", labels, static_cast<const Gauge*>(cell)->value());
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> buckets)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names), MetricType::Histogram),
      buckets_(std::move(buckets)) {}

std::shared_ptr<void> HistogramFamily::makeCell() {
  return std::make_shared<Histogram>(buckets_);
}

void HistogramFamily::renderCell(std::string& out, const std::string& labels,
                                 const void* cell) const {
  const auto* h = static_cast<const Histogram*>(cell);
  Histogram::Snapshot snap = h->snapshot();
  std::string le_labels;
  auto bounds = h->bounds();
  for (size_t i = 0; i <= bounds.size(); ++i) {
    le_labels = labels;
    if (!le_labels.empty()) le_labels.push_back(',');
    le_labels += "le=\"";
    if (i < bounds.size()) {
      appendValue(le_labels, bounds[i]);
    } else {
      le_labels += "+Inf";
    }
    le_labels.push_back('"');
    appendSample(out, name(), "_bucket", le_labels, static_cast<double>(snap.cumulative[i]));
  }
  appendSample(out, name(), "_sum", labels, snap.sum);
  appendSample(out, name(), "_count", labels, static_cast<double>(snap.count));
}

FamilyBase* Registry::find(std::string_view name) const {
  for (const auto& f : families_)
    if (f->name() == name) return f.get();
  return nullptr;
}

namespace {
void validate(std::string_view name, const std::vector<std::string>& labels) {
  if (!validMetricName(name))
    throw std::invalid_argument("invalid metric name: " + std::string(name));
  for (const auto& l : labels)
    if (!validLabelName(l))
      throw std::invalid_argument("invalid label name '" + l + "' on " + std::string(name));
}

template <class F>
F& existingOrThrow(FamilyBase* f, MetricType type, const std::vector<std::string>& labels) {
  if (f->type() != type || f->labelNames() != labels)
    throw std::invalid_argument("metric " + f->name() +
                                " re-registered with another type or labels");
  return *static_cast<F*>(f);
}
}  // namespace

CounterFamily& Registry::counter(std::string_view name, std::string_view help,
                                 std::vector<std::string> label_names) {
  validate(name, label_names);
  std::lock_guard lock(mu_);
  if (auto* f = find(name)) return existingOrThrow<CounterFamily>(f, MetricType::Counter, label_names);
  auto fam = std::make_unique<CounterFamily>(std::string(name), std::string(help),
                                             std::move(label_names), MetricType::Counter);
  auto& ref = *fam;
  families_.push_back(std::move(fam));
  return ref;
}

GaugeFamily& Registry::gauge(std::string_view name, std::string_view help,
                             std::vector<std::string> label_names) {
  validate(name, label_names);
  std::lock_guard lock(mu_);
  if (auto* f = find(name)) return existingOrThrow<GaugeFamily>(f, MetricType::Gauge, label_names);
  auto fam = std::make_unique<GaugeFamily>(std::string(name), std::string(help),
                                           std::move(label_names), MetricType::Gauge);
  auto& ref = *fam;
  families_.push_back(std::move(fam));
  return ref;
}

HistogramFamily& Registry::histogram(std::string_view name, std::string_view help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> buckets) {
  validate(name, label_names);
  if (buckets.empty()) buckets = defaultLatencyBuckets();
  std::erase_if(buckets, [](double b) { return !std::isfinite(b); });
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  std::lock_guard lock(mu_);
  if (auto* f = find(name))
    return existingOrThrow<HistogramFamily>(f, MetricType::Histogram, label_names);
  auto fam = std::make_unique<HistogramFamily>(std::string(name), std::string(help),
                                               std::move(label_names), std::move(buckets));
  auto& ref = *fam;
  families_.push_back(std::move(fam));
  return ref;
}

void Registry::addCollector(std::function<void(std::string& out)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::render() const {
  std::string out;
  out.reserve(4096);
  std::lock_guard lock(mu_);
  for (const auto& f : families_) f->render(out);
  for (const auto& c : collectors_) {
    size_t before = out.size();
    c(out);
    if (out.size() > before && out.back() != '\n') out.push_back('\n');
  }
  return out;
}

}  // namespace regiongate::metrics
