#pragma once
// Prometheus metrics for a multi-threaded data plane.
//
// Hot path: a metric cell is an array of kShards cache-line-padded relaxed atomics; a thread
// writes only to its own shard (thread-local shard id), so increments from different workers do
// not share cache lines and take no lock. A family maps label values -> cell through a
// thread-local cache; the family's mutex is taken only the first time a thread uses a label set
// (and on scrape). Scrape (render) sums the shards.
//
// Lifetime: families and cells live as long as their Registry and never move, so a Counter& /
// Gauge& / Histogram& may be kept and used from any thread for the Registry's lifetime.
// Registration (counter(), gauge(), histogram(), addCollector()) is control-plane work done at
// startup; it throws std::invalid_argument on an invalid name or a conflicting re-registration.
// Data-plane calls (with(), inc(), observe(), ...) never throw.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace regiongate::metrics {

inline constexpr size_t kShards = 16;

// This thread's shard in [0, kShards): assigned round-robin on a thread's first use.
size_t threadShard();

namespace detail {
struct alignas(64) PaddedDouble {
  std::atomic<double> v{0.0};
};
}  // namespace detail

class Counter {
public:
  // Negative or NaN increments are ignored (counters only go up).
  void inc(double v = 1.0) {
    if (!(v >= 0.0)) return;
    shards_[threadShard()].v.fetch_add(v, std::memory_order_relaxed);
  }
  double value() const;

private:
  std::array<detail::PaddedDouble, kShards> shards_;
};

// A gauge is one value, not sharded: set() from several threads must agree on one value.
class Gauge {
public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double v) { v_.fetch_add(v, std::memory_order_relaxed); }
  void inc() { add(1.0); }
  void dec() { add(-1.0); }
  double value() const { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> v_{0.0};
};

class Histogram {
public:
  explicit Histogram(std::span<const double> upper_bounds);  // sorted, finite, no +Inf
  void observe(double v);
  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  std::span<const double> bounds() const { return bounds_; }

private:
  // One shard = (bounds + 1) bucket counters + count + sum, padded to a cache-line multiple.
  struct alignas(64) Shard {
    explicit Shard(size_t buckets) : counts(buckets) {}
    std::vector<std::atomic<uint64_t>> counts;  // non-cumulative; last = +Inf
    std::atomic<double> sum{0.0};
  };
  std::vector<double> bounds_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

// 1 ms .. 60 s, roughly x2.5 steps (latency, TTFT, durations).
std::vector<double> defaultLatencyBuckets();

enum class MetricType { Counter, Gauge, Histogram };

// Label values -> cell, shared by the three family kinds.
class FamilyBase {
public:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
             MetricType type);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& labelNames() const { return label_names_; }
  void render(std::string& out) const;

protected:
  // Returns the cell for `values` (created on first use). A wrong number of values is padded
  // with "" or truncated (debug builds assert).
  void* cellFor(std::span<const std::string_view> values);
  virtual std::shared_ptr<void> makeCell() = 0;
  virtual void renderCell(std::string& out, const std::string& labels, const void* cell) const = 0;

private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  MetricType type_;
  uint64_t id_;  // unique per process, keys the thread-local caches
  mutable std::mutex mu_;
  // Key: label values joined by '\xff'. Ordered so that render() output is stable.
  std::map<std::string, std::pair<std::vector<std::string>, std::shared_ptr<void>>, std::less<>>
      cells_;
};

class CounterFamily final : public FamilyBase {
public:
  using FamilyBase::FamilyBase;
  Counter& with(std::initializer_list<std::string_view> values) {
    return *static_cast<Counter*>(cellFor({values.begin(), values.size()}));
  }
  Counter& with(std::span<const std::string_view> values) {
    return *static_cast<Counter*>(cellFor(values));
  }

private:
  std::shared_ptr<void> makeCell() override;
  void renderCell(std::string& out, const std::string& labels, const void* cell) const override;
};

class GaugeFamily final : public FamilyBase {
public:
  using FamilyBase::FamilyBase;
  Gauge& with(std::initializer_list<std::string_view> values) {
    return *static_cast<Gauge*>(cellFor({values.begin(), values.size()}));
  }
  Gauge& with(std::span<const std::string_view> values) {
    return *static_cast<Gauge*>(cellFor(values));
  }

private:
  std::shared_ptr<void> makeCell() override;
  void renderCell(std::string& out, const std::string& labels, const void* cell) const override;
};

class HistogramFamily final : public FamilyBase {
public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> buckets);
  Histogram& with(std::initializer_list<std::string_view> values) {
    return *static_cast<Histogram*>(cellFor({values.begin(), values.size()}));
  }
  Histogram& with(std::span<const std::string_view> values) {
    return *static_cast<Histogram*>(cellFor(values));
  }

private:
  std::shared_ptr<void> makeCell() override;
  void renderCell(std::string& out, const std::string& labels, const void* cell) const override;
  std::vector<double> buckets_;
};

class Registry {
public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Re-registering the same name with the same type and labels returns the existing family.
  CounterFamily& counter(std::string_view name, std::string_view help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string_view name, std::string_view help,
                     std::vector<std::string> label_names = {});
  // Empty `buckets` = defaultLatencyBuckets(). Buckets are sorted and de-duplicated.
  HistogramFamily& histogram(std::string_view name, std::string_view help,
                             std::vector<std::string> label_names = {},
                             std::vector<double> buckets = {});
  // Text produced elsewhere (complete exposition lines incl. # HELP / # TYPE), appended to
  // render() output after the families, in registration order. Called on the scraping thread.
  void addCollector(std::function<void(std::string& out)> collector);

  // Prometheus text exposition format 0.0.4.
  std::string render() const;

private:
  FamilyBase* find(std::string_view name) const;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

// Exposition helpers (also used by collectors that render their own lines).
bool validMetricName(std::string_view name);
bool validLabelName(std::string_view name);
void appendEscapedLabelValue(std::string& out, std::string_view v);  // \\ \" \n
void appendEscapedHelp(std::string& out, std::string_view v);        // \\ \n
void appendValue(std::string& out, double v);                        // +Inf, -Inf, NaN, %.17g

}  // namespace regiongate::metrics
