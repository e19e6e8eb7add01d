#include "sim/simulation.h"

#include <algorithm>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cmath>

#include "common/quantile.h"
#include "sim/event_engine.h"

namespace regiongate::sim {

namespace {

int64_t msToNanos(double ms) { return static_cast<int64_t>(std::llround(ms * 1e6)); }

// As vLLM's prefix cache and the mock backend (mock_backend.cc): only full blocks are stored, and
// a lookup never covers the prompt's last token (its logits start the decode, so it is always
// recomputed). A partial last block is therefore never a hit, nor is a prompt's last full block
// when the prompt ends exactly on a block boundary.
size_t storedBlocks(const TraceRequest& r, uint32_t tokens_per_block) {
  return std::min(r.blocks.size(), size_t(r.input_tokens / tokens_per_block));
}
size_t lookupBlocks(const TraceRequest& r, uint32_t tokens_per_block) {
  if (r.input_tokens == 0) return 0;
  return std::min(r.blocks.size(), size_t((r.input_tokens - 1) / tokens_per_block));
}

class Run {
public:
  Run(const SimConfig& config, const Trace& trace, std::span<const uint32_t> pool_of,
      routing::Policy& policy, const ProgressFn& progress)
      : config_(config), trace_(trace), pool_of_(pool_of), policy_(policy), progress_(progress),
        engine_(clock_) {
    for (uint32_t i = 0; i < config.instances.size(); ++i) {
      InstanceParams p = config.instances[i].params;
      p.block_tokens = trace.tokens_per_block;  // the cache's block = the trace's block
      instances_.emplace_back(i, p);
    }
    result_.outcomes.resize(trace.requests.size());
    result_.instances.resize(instances_.size());
    seq_.block_tokens = trace.tokens_per_block;
  }

  SimResult run() {
    const auto& reqs = trace_.requests;
    if (reqs.empty()) return std::move(result_);
    origin_ms_ = reqs.front().arrival_ms;
    result_.start_ms = origin_ms_;
    clock_.set(0);
    for (const auto& f : config_.flushes)
      engine_.at(toNanos(f.at_ms), [this, &f] {
        for (uint32_t i : f.instances) instances_[i].cache().clear();
      });
    for (const auto& o : config_.outages) {
      engine_.at(toNanos(o.from_ms), [this, &o] {
        for (uint32_t i : o.instances) instances_[i].up_ = false;
      });
      engine_.at(toNanos(o.to_ms), [this, &o] {
        for (uint32_t i : o.instances) {
          instances_[i].up_ = true;
          instances_[i].cache().clear();  // a restarted server starts cold
        }
      });
    }
    scheduleArrival(0);
    engine_.run();
    // The span is the traffic's: a rollout or outage scheduled after the last request completes
    // runs (its events are in the queue) but must not stretch the time the GPUs are paid for.
    result_.end_ms = origin_ms_;
    for (const auto& o : result_.outcomes) result_.end_ms = std::max(result_.end_ms, o.done_ms);
    result_.events = engine_.executed();
    for (size_t i = 0; i < instances_.size(); ++i) {
      result_.instances[i].requests = instances_[i].requests_;
      result_.instances[i].prefill_busy_ms = instances_[i].prefill_busy_ms_;
      result_.instances[i].decode_ms = instances_[i].decode_ms_;
    }
    if (progress_) progress_(reqs.size(), reqs.size());
    return std::move(result_);
  }

private:
  int64_t toNanos(double trace_ms) const { return msToNanos(trace_ms - origin_ms_); }
  double nowMs() const { return origin_ms_ + double(clock_.nowNanos()) / 1e6; }

  void scheduleArrival(size_t i) {
    if (i >= trace_.requests.size()) return;
    engine_.at(toNanos(trace_.requests[i].arrival_ms), [this, i] { arrive(i); });
  }

  routing::RouteRequest routeRequest(const TraceRequest& r, uint32_t pool) const {
    routing::RouteRequest rr;
    rr.jurisdiction = config_.pools[pool].jurisdiction;
    rr.model = config_.model;
    rr.blocks = r.blocks;
    rr.tokens_per_block = trace_.tokens_per_block;
    rr.prompt_tokens = r.input_tokens;
    rr.now_nanos = clock_.nowNanos();
    return rr;
  }

  void arrive(size_t i) {
    scheduleArrival(i + 1);
    const TraceRequest& r = trace_.requests[i];
    const uint32_t pool = pool_of_.empty() ? 0 : pool_of_[i];
    RequestOutcome& out = result_.outcomes[i];
    out.pool = pool;
    out.arrival_ms = r.arrival_ms;
    out.input_tokens = r.input_tokens;
    out.output_tokens = r.output_tokens;
    out.blocks = uint32_t(r.blocks.size());
    if (progress_ && (i % 4096) == 0) progress_(i, trace_.requests.size());

    const double now = nowMs();
    cands_.clear();
    for (uint32_t id : config_.pools[pool].instances) {
      const Instance& inst = instances_[id];
      if (!inst.up_) continue;
      routing::Candidate c;
      c.endpoint = id;
      c.in_flight = inst.inFlight();
      if (config_.expose_queue) {
        c.queue_ms = inst.backlogMs(now);
        c.queue_known = true;
        c.prefill_ms_per_token = inst.params().prefill_ms_per_token;
      }
      cands_.push_back(c);
    }
    if (cands_.empty()) {
      out.instance = kNoInstance;  // typed 503: residency_pool_exhausted
      out.done_ms = now;
      return;
    }
    const routing::RouteRequest rr = routeRequest(r, pool);
    size_t k = policy_.pick(rr, cands_);
    if (k >= cands_.size()) k = 0;
    const uint32_t id = cands_[k].endpoint;
    if (!config_.learn_at_first_token) policy_.onRouted(rr, id);
    out.instance = id;
    ++instances_[id].requests_;
    if (r.transit_ms > 0) {
      ++instances_[id].unseen_;
      engine_.afterMs(r.transit_ms, [this, id, i] {
        --instances_[id].unseen_;
        enqueue(id, i);
      });
    } else {
      enqueue(id, i);
    }
  }

  // Request i reaches instance id: its queue estimate, then the FIFO.
  void enqueue(uint32_t id, size_t i) {
    const TraceRequest& r = trace_.requests[i];
    Instance& inst = instances_[id];
    size_t peek = std::min(inst.peekCachedBlocks(r.blocks), lookupBlocks(r, trace_.tokens_per_block));
    uint64_t est_cached = std::min<uint64_t>(uint64_t(peek) * trace_.tokens_per_block,
                                             r.input_tokens);
    double est = inst.params().prefillMs(r.input_tokens - est_cached);
    inst.waiting_.push_back(InstanceJob{uint32_t(i), est});
    inst.waiting_work_ms_ += est;
    tryStart(inst);
  }

  void tryStart(Instance& inst) {
    if (inst.prefilling_ || inst.waiting_.empty() || inst.running_ >= inst.params().batch_slots)
      return;
    InstanceJob job = inst.waiting_.front();
    inst.waiting_.pop_front();
    inst.waiting_work_ms_ = std::max(0.0, inst.waiting_work_ms_ - job.est_prefill_ms);
    if (inst.waiting_.empty()) inst.waiting_work_ms_ = 0;
    const TraceRequest& r = trace_.requests[job.request];
    const uint32_t tpb = trace_.tokens_per_block;
    seq_.hashes.assign(r.blocks.begin(), r.blocks.begin() + ptrdiff_t(storedBlocks(r, tpb)));
    uint64_t hit_tokens = inst.cache().lookup(seq_, lookupBlocks(r, tpb));
    uint32_t hit_blocks = uint32_t(hit_tokens / trace_.tokens_per_block);
    inst.cache().insert(seq_);
    uint64_t cached = std::min<uint64_t>(hit_tokens, r.input_tokens);
    double prefill = inst.params().prefillMs(r.input_tokens - cached);
    RequestOutcome& out = result_.outcomes[job.request];
    out.cached_tokens = uint32_t(cached);
    out.hit_blocks = hit_blocks;
    inst.prefilling_ = true;
    inst.prefill_end_ms_ = nowMs() + prefill;
    inst.prefill_busy_ms_ += prefill;
    ++inst.running_;
    const uint32_t id = inst.id();
    const uint32_t req = job.request;
    engine_.afterMs(prefill, [this, id, req] { prefillDone(id, req); });
  }

  void prefillDone(uint32_t id, uint32_t req) {
    Instance& inst = instances_[id];
    const TraceRequest& r = trace_.requests[req];
    RequestOutcome& out = result_.outcomes[req];
    const double now = nowMs();
    out.ttft_ms = now - r.arrival_ms;
    routing::RouteRequest rr = routeRequest(r, out.pool);
    if (config_.learn_at_first_token) {
      rr.now_nanos = toNanos(r.arrival_ms);  // the gateway passes the request's start time
      if (r.return_ms > 0)
        engine_.afterMs(r.return_ms, [this, rr, id] { policy_.onRouted(rr, id); });
      else
        policy_.onRouted(rr, id);
    }
    policy_.onCompleted(id, rr, out.ttft_ms, out.cached_tokens);
    inst.prefilling_ = false;
    double decode = inst.params().decode_ms_per_token * double(r.output_tokens > 0 ? r.output_tokens - 1 : 0);
    inst.decode_ms_ += decode;
    engine_.afterMs(decode, [this, id, req] {
      Instance& in = instances_[id];
      --in.running_;
      result_.outcomes[req].done_ms = nowMs();
      if (const double back = trace_.requests[req].return_ms; back > 0) {
        ++in.unseen_;
        engine_.afterMs(back, [this, id] { --instances_[id].unseen_; });
      }
      tryStart(in);
    });
    tryStart(inst);
  }

  const SimConfig& config_;
  const Trace& trace_;
  std::span<const uint32_t> pool_of_;
  routing::Policy& policy_;
  const ProgressFn& progress_;
  ManualClock clock_;
  EventEngine engine_;
  std::vector<Instance> instances_;
  std::vector<routing::Candidate> cands_;
  inference::BlockSeq seq_;
  double origin_ms_ = 0;
  SimResult result_;
};

}  // namespace

SimResult runSimulation(const SimConfig& config, const Trace& trace,
                        std::span<const uint32_t> pool_of_request, routing::Policy& policy,
                        const ProgressFn& progress) {
  Run run(config, trace, pool_of_request, policy, progress);
  return run.run();
}

CeilingResult sharedCacheCeiling(const Trace& trace, uint64_t capacity_tokens) {
  uint64_t blocks = 0, hits = 0, tokens = 0, cached = 0;
  if (capacity_tokens == 0) {
    boost::unordered_flat_set<uint64_t> seen;
    for (const auto& r : trace.requests) {
      size_t h = 0;
      while (h < r.blocks.size() && seen.contains(r.blocks[h])) ++h;
      for (uint64_t b : r.blocks) seen.insert(b);
      blocks += r.blocks.size();
      hits += h;
      tokens += r.input_tokens;
      cached += std::min<uint64_t>(uint64_t(h) * trace.tokens_per_block, r.input_tokens);
    }
  } else {
    inference::KvCache cache(capacity_tokens, trace.tokens_per_block);
    inference::BlockSeq seq;
    seq.block_tokens = trace.tokens_per_block;
    for (const auto& r : trace.requests) {
      seq.hashes.assign(r.blocks.begin(), r.blocks.end());
      uint64_t h = cache.lookup(seq) / trace.tokens_per_block;
      cache.insert(seq);
      blocks += r.blocks.size();
      hits += h;
      tokens += r.input_tokens;
      cached += std::min<uint64_t>(h * trace.tokens_per_block, r.input_tokens);
    }
  }
  CeilingResult c;
  c.block_hit_rate = blocks ? double(hits) / double(blocks) : 0;
  c.token_hit_rate = tokens ? double(cached) / double(tokens) : 0;
  return c;
}

Summary summarise(const SimResult& r, const std::function<bool(const RequestOutcome&)>& keep) {
  Summary s;
  std::vector<double> ttft;
  double sum = 0;
  for (const auto& o : r.outcomes) {
    if (keep && !keep(o)) continue;
    ++s.requests;
    if (o.instance == kNoInstance) continue;
    ++s.served;
    s.input_tokens += o.input_tokens;
    s.cached_tokens += o.cached_tokens;
    s.output_tokens += o.output_tokens;
    s.blocks += o.blocks;
    s.hit_blocks += o.hit_blocks;
    ttft.push_back(o.ttft_ms);
    sum += o.ttft_ms;
  }
  if (!ttft.empty()) {
    s.ttft_mean = sum / double(ttft.size());
    s.ttft_p50 = quantile(ttft, 0.50);
    s.ttft_p90 = quantile(ttft, 0.90);
    s.ttft_p99 = quantile(ttft, 0.99);
  }
  return s;
}

}  // namespace regiongate::sim
