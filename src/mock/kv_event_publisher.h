#pragma once
// KvEventPublisher: publishes KV-cache events in vLLM's wire format, so a router written for vLLM
// (and regiongate's own cache-aware routing) can follow the mock's cache.
//
// Transport: a ZMQ PUB socket bound to `endpoint` (e.g. tcp://127.0.0.1:5557). Each message is
// three frames, as vLLM's ZmqEventPublisher sends them: topic (default ""), an 8-byte big-endian
// sequence number, and the msgpack payload. Payload (msgspec array_like, tag=True):
//   KVEventBatch = [ts: float64 seconds, events: [event, ...]]   (data_parallel_rank omitted)
//   BlockStored  = ["BlockStored", [hash, ...], parent_hash | nil, [token_id, ...], block_size,
//                   nil /*lora_id*/, nil /*medium*/]
//   BlockRemoved = ["BlockRemoved", [hash, ...], nil /*medium*/]
//   AllBlocksCleared = ["AllBlocksCleared"]
// Hashes are unsigned 64-bit integers (kv_cache.h defines them).
//
// Threads: publish() is called from any thread (it only queues); one background thread owns the
// ZMQ socket and sends batches. The replay (ROUTER) socket of vLLM is not implemented.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "inference/kv_cache.h"

namespace regiongate::mock {

// Encodes one batch (exposed for tests and the fuzz target of the decoder side).
std::string encodeKvEventBatch(double ts_seconds, const std::vector<inference::KvEvent>& events);

class KvEventPublisher {
public:
  // Binds the PUB socket now (so a bad endpoint fails at start) and starts the sender thread.
  static Result<std::unique_ptr<KvEventPublisher>> start(const std::string& endpoint,
                                                         std::string topic, const Clock& clock);
  ~KvEventPublisher();
  void publish(inference::KvEvent event);
  uint64_t published() const;  // batches sent
  // The bound endpoint (a wildcard port like tcp://127.0.0.1:* is resolved).
  const std::string& endpoint() const { return endpoint_; }

private:
  KvEventPublisher(const Clock& clock, std::string topic) : clock_(clock), topic_(std::move(topic)) {}
  void run();

  const Clock& clock_;
  std::string topic_;
  std::string endpoint_;
  void* zmq_ctx_ = nullptr;
  void* socket_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<inference::KvEvent> queue_;
  bool stop_ = false;
  uint64_t seq_ = 0;
  uint64_t sent_ = 0;
  std::thread thread_;
};

}  // namespace regiongate::mock
