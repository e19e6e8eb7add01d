#pragma once
// Precise mode's feed: one background thread with a ZMQ SUB socket per backend, decoding vLLM
// KV-event batches (multipart [topic, seq, payload]) into a shared KvEventIndex. Control-plane
// thread: never on a request path. start() connects; stop() (or the destructor) joins within
// ~poll_ms. Decode errors and sequence gaps are counted, never fatal.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "routing/kv_event_index.h"

namespace regiongate::routing {

struct KvEventSource {
  uint32_t endpoint = 0;   // index into config.endpoints
  std::string address;     // e.g. tcp://127.0.0.1:5557 (vLLM --kv-events-config endpoint)
  std::string topic;       // subscription prefix, "" = all
};

class KvEventSubscriber {
public:
  KvEventSubscriber(std::shared_ptr<KvEventIndex> index, std::vector<KvEventSource> sources,
                    int poll_ms = 50);
  ~KvEventSubscriber();
  KvEventSubscriber(const KvEventSubscriber&) = delete;
  KvEventSubscriber& operator=(const KvEventSubscriber&) = delete;

  Status start();
  void stop();

  uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }
  uint64_t decodeErrors() const { return decode_errors_.load(std::memory_order_relaxed); }
  uint64_t sequenceGaps() const { return gaps_.load(std::memory_order_relaxed); }

private:
  void run();
  struct State;
  std::shared_ptr<KvEventIndex> index_;
  std::vector<KvEventSource> sources_;
  int poll_ms_;
  std::unique_ptr<State> state_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> batches_{0}, decode_errors_{0}, gaps_{0};
};

}  // namespace regiongate::routing
