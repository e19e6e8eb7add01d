#pragma once
// RouteShare: routing knowledge (which endpoint got which prompt prefix) shared with this
// gateway's other workers and, per jurisdiction, with the other replicas of the deployment
// through PostgreSQL LISTEN/NOTIFY on that jurisdiction's database (docs/operations.md "Several
// replicas"). A jurisdiction's prefix hashes go only to its own database and channel.
//
// Threads: publish() runs on worker threads; each worker has its own bounded lock-free
// single-producer queue, so it never blocks (a full queue drops the route and counts it). The
// share thread drains the queues every flush interval, hands the routes to the other workers and
// to each jurisdiction's link. A link thread per configured database NOTIFYs what it was handed
// and LISTENs for the other replicas' routes. Routes reach workers through `deliver` (the gateway
// posts them to the worker's io_context), never by touching a worker's policy directly.
// A database that is down only stops the exchange between replicas: each link reconnects every
// second and drops what it could not send; routing uses what this replica knows.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>

#include "metrics/registry.h"
#include "routing/peer_routes.h"

namespace regiongate::gateway {

struct SharedRoute {
  std::string jurisdiction;
  routing::PeerRoute route;
  size_t origin_worker = SIZE_MAX;  // the local worker that routed it; SIZE_MAX: another replica
};
using SharedRoutes = std::shared_ptr<const std::vector<SharedRoute>>;

struct RouteShareOptions {
  std::string sender;                      // routing::peerSenderId: drops our own notifications
  size_t workers = 1;
  bool share_workers = true;               // workers of this process learn from each other
  std::map<std::string, std::string> dsn;  // jurisdiction -> PostgreSQL DSN of its database
  uint32_t flush_ms = 10;
  uint32_t queue_capacity = 4096;          // per worker, routes
};

class RouteShare {
public:
  // Called on the share or a link thread; must only post `routes` to worker `worker`.
  using Deliver = std::function<void(size_t worker, SharedRoutes routes)>;

  RouteShare(RouteShareOptions options, Deliver deliver, metrics::Registry& registry);
  ~RouteShare();
  RouteShare(const RouteShare&) = delete;
  RouteShare& operator=(const RouteShare&) = delete;

  void start();
  void stop();  // joins the threads; idempotent

  // True when routes of `jurisdiction` go anywhere (immutable after construction: any thread).
  bool shares(std::string_view jurisdiction) const;
  // Worker `worker`'s thread only. Never blocks.
  void publish(size_t worker, std::string_view jurisdiction, std::string_view model,
               std::string_view endpoint, std::span<const uint64_t> blocks);
  // A delivered route named an endpoint this worker's config does not have (any thread).
  void countUnknownEndpoint() { dropped_unknown_endpoint_.inc(); }

  // The channel a jurisdiction's routes use in its database.
  static std::string channelOf(std::string_view jurisdiction);

private:
  class Link;
  using Queue = boost::lockfree::spsc_queue<SharedRoute*>;

  void run();
  void drainOnce();
  void deliverToWorkers(const SharedRoutes& routes);

  RouteShareOptions options_;
  Deliver deliver_;
  std::vector<std::unique_ptr<Queue>> queues_;  // one per worker
  std::vector<std::unique_ptr<Link>> links_;    // one per jurisdiction with a DSN
  std::atomic<bool> stop_{false};
  std::mutex mu_;  // share thread's wait only
  std::condition_variable cv_;
  std::thread thread_;
  metrics::Counter& dropped_queue_full_;
  metrics::Counter& dropped_unknown_endpoint_;
  metrics::Counter& shared_local_;
  metrics::Registry& registry_;
};

}  // namespace regiongate::gateway
