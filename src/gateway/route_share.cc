#include "gateway/route_share.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>

#include "pg/connection.h"

namespace regiongate::gateway {

namespace {

constexpr auto kReconnectEvery = std::chrono::seconds(1);
// Bounds on a database that stops answering: the link gives up and reconnects instead of
// holding its thread (routes are dropped meanwhile, serving is not affected).
constexpr pg::ConnectOptions kConnect{.connect_timeout_s = 2,
                                      .tcp_user_timeout_ms = 5000,
                                      .statement_timeout_ms = 2000};

}  // namespace

// One jurisdiction's database: NOTIFYs the routes handed to it, LISTENs for the other replicas'.
// Thread: its own; hand() is called by the share thread (the outbox lock is never taken by a
// worker).
class RouteShare::Link {
public:
  using Received = std::function<void(SharedRoutes)>;

  Link(std::string jurisdiction, std::string dsn, const RouteShareOptions& options,
       Received received, metrics::Registry& registry)
      : jurisdiction_(std::move(jurisdiction)),
        conn_(std::move(dsn), "routing_share_failed"),
        channel_(channelOf(jurisdiction_)),
        sender_(options.sender),
        flush_ms_(options.flush_ms),
        outbox_capacity_(options.queue_capacity),
        received_(std::move(received)),
        published_(registry
                       .counter("regiongate_routing_share_published_total",
                                "Routes sent to a jurisdiction's database for the other replicas.",
                                {"jurisdiction"})
                       .with({jurisdiction_})),
        received_count_(registry
                            .counter("regiongate_routing_share_received_total",
                                     "Routes received from the other replicas of a jurisdiction.",
                                     {"jurisdiction"})
                            .with({jurisdiction_})),
        connected_(registry
                       .gauge("regiongate_routing_share_connected",
                              "1 while the routing share is connected to the jurisdiction's "
                              "database.",
                              {"jurisdiction"})
                       .with({jurisdiction_})),
        dropped_(registry.counter("regiongate_routing_share_dropped_total",
                                  "Shared routes dropped, by reason.", {"reason"})),
        wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

  ~Link() {
    stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  const std::string& jurisdiction() const { return jurisdiction_; }

  void start() { thread_ = std::thread([this] { run(); }); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Wakes the link thread so the routes leave now, not at its next poll timeout.
  void hand(std::vector<routing::PeerRoute> routes) {
    {
      std::lock_guard lock(mu_);
      for (auto& r : routes) {
        if (outbox_.size() >= outbox_capacity_) {
          dropped_.with({"queue_full"}).inc();
          continue;
        }
        outbox_.push_back(std::move(r));
      }
    }
    const uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof(one));
  }

private:
  void run() {
    auto retry_at = std::chrono::steady_clock::now();
    while (!stop_) {
      if (!conn_.connected() && std::chrono::steady_clock::now() >= retry_at) {
        retry_at = std::chrono::steady_clock::now() + kReconnectEvery;
        connect();
      }
      if (!conn_.connected()) {
        dropOutbox("store_down");
        waitForInput(-1);
        continue;
      }
      waitForInput(PQsocket(conn_.get()));
      if (!receive() || !send()) {
        spdlog::warn("routing share: lost the {} database ({}); routing uses local knowledge "
                     "until it is back",
                     jurisdiction_, conn_.error("exchange").message);
        disconnect();
      }
    }
  }

  // Until the database socket (if any) is readable, routes are handed over, or flush_ms passes.
  void waitForInput(int db_fd) {
    pollfd p[2] = {{wake_fd_, POLLIN, 0}, {db_fd, POLLIN, 0}};
    ::poll(p, db_fd >= 0 ? 2 : 1, static_cast<int>(flush_ms_));
    uint64_t n = 0;
    if (p[0].revents & POLLIN) (void)!::read(wake_fd_, &n, sizeof(n));
  }

  void connect() {
    if (auto st = conn_.open(kConnect); !st) {
      if (!down_logged_)
        spdlog::warn("routing share: cannot reach the {} database ({}); retrying every second",
                     jurisdiction_, st.error().message);
      down_logged_ = true;
      return;
    }
    char* ident = PQescapeIdentifier(conn_.get(), channel_.c_str(), channel_.size());
    const std::string listen = "LISTEN " + std::string(ident ? ident : "\"\"");
    PQfreemem(ident);
    if (!conn_.exec(listen.c_str()).commandOk()) {
      spdlog::warn("routing share: {}", conn_.error("LISTEN").message);
      disconnect();
      return;
    }
    down_logged_ = false;
    connected_.set(1);
    spdlog::info("routing share: connected to the {} database", jurisdiction_);
  }

  void disconnect() {
    conn_.close();
    connected_.set(0);
  }

  bool receive() {
    if (!PQconsumeInput(conn_.get())) return false;
    while (PGnotify* n = PQnotifies(conn_.get())) {
      if (channel_ == n->relname) accept(n->extra);
      PQfreemem(n);
    }
    return true;
  }

  // A payload from the channel: any replica (ourselves included) may have sent it.
  void accept(std::string_view payload) {
    auto batch = routing::decodePeerRoutes(payload);
    if (!batch || batch->jurisdiction != jurisdiction_) {
      dropped_.with({"invalid_payload"}).inc();
      return;
    }
    if (batch->sender == sender_) return;
    auto routes = std::make_shared<std::vector<SharedRoute>>();
    routes->reserve(batch->routes.size());
    for (auto& r : batch->routes) routes->push_back(SharedRoute{jurisdiction_, std::move(r)});
    const double n = static_cast<double>(routes->size());
    received_(std::move(routes));
    received_count_.inc(n);  // after posting: a reader of the counter finds them on the workers
  }

  bool send() {
    std::vector<routing::PeerRoute> routes;
    {
      std::lock_guard lock(mu_);
      routes.assign(std::make_move_iterator(outbox_.begin()),
                    std::make_move_iterator(outbox_.end()));
      outbox_.clear();
    }
    if (routes.empty()) return true;
    size_t skipped = 0;
    for (const auto& payload : routing::encodePeerRoutes(sender_, jurisdiction_, routes, skipped)) {
      if (!conn_.exec("SELECT pg_notify($1, $2)", pg::Params{channel_, payload}).tuplesOk()) {
        dropped_.with({"store_down"}).inc(static_cast<double>(routes.size() - skipped));
        return false;
      }
    }
    if (skipped) dropped_.with({"unencodable"}).inc(static_cast<double>(skipped));
    published_.inc(static_cast<double>(routes.size() - skipped));
    return true;
  }

  void dropOutbox(std::string_view reason) {
    std::lock_guard lock(mu_);
    if (!outbox_.empty()) dropped_.with({reason}).inc(static_cast<double>(outbox_.size()));
    outbox_.clear();
  }

  const std::string jurisdiction_;
  pg::Connection conn_;  // link thread only
  const std::string channel_, sender_;
  const uint32_t flush_ms_;
  const size_t outbox_capacity_;
  Received received_;
  metrics::Counter& published_;
  metrics::Counter& received_count_;
  metrics::Gauge& connected_;
  metrics::CounterFamily& dropped_;
  std::mutex mu_;
  std::deque<routing::PeerRoute> outbox_;  // guarded by mu_
  bool down_logged_ = false;
  int wake_fd_ = -1;  // eventfd: hand() -> link thread
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

RouteShare::RouteShare(RouteShareOptions options, Deliver deliver, metrics::Registry& registry)
    : options_(std::move(options)),
      deliver_(std::move(deliver)),
      dropped_queue_full_(registry
                              .counter("regiongate_routing_share_dropped_total",
                                       "Shared routes dropped, by reason.", {"reason"})
                              .with({"queue_full"})),
      dropped_unknown_endpoint_(registry
                                    .counter("regiongate_routing_share_dropped_total",
                                             "Shared routes dropped, by reason.", {"reason"})
                                    .with({"unknown_endpoint"})),
      shared_local_(registry.counter("regiongate_routing_share_local_total",
                                     "Routes handed to the other workers of this process.")
                        .with({})),
      registry_(registry) {
  if (options_.workers == 0) options_.workers = 1;
  if (options_.flush_ms == 0) options_.flush_ms = 1;
  for (size_t i = 0; i < options_.workers; ++i)
    queues_.push_back(std::make_unique<Queue>(std::max<uint32_t>(1, options_.queue_capacity)));
  for (const auto& [jurisdiction, dsn] : options_.dsn)
    links_.push_back(std::make_unique<Link>(
        jurisdiction, dsn, options_,
        [this](SharedRoutes routes) { deliverToWorkers(routes); }, registry_));
}

RouteShare::~RouteShare() {
  stop();
  for (auto& q : queues_) q->consume_all([](SharedRoute* r) { delete r; });
}

void RouteShare::start() {
  for (auto& l : links_) l->start();
  thread_ = std::thread([this] { run(); });
}

void RouteShare::stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_.exchange(true)) return;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& l : links_) l->stop();
}

std::string RouteShare::channelOf(std::string_view jurisdiction) {
  return "regiongate_routes_" + std::string(jurisdiction);
}

bool RouteShare::shares(std::string_view jurisdiction) const {
  if (options_.share_workers && options_.workers > 1) return true;
  for (const auto& l : links_)
    if (l->jurisdiction() == jurisdiction) return true;
  return false;
}

void RouteShare::publish(size_t worker, std::string_view jurisdiction, std::string_view model,
                         std::string_view endpoint, std::span<const uint64_t> blocks) {
  if (blocks.empty() || worker >= queues_.size()) return;
  auto* r = new SharedRoute{std::string(jurisdiction),
                            routing::PeerRoute{std::string(model), std::string(endpoint),
                                               {blocks.begin(), blocks.end()}},
                            worker};
  if (!queues_[worker]->push(r)) {
    delete r;
    dropped_queue_full_.inc();
  }
}

void RouteShare::run() {
  while (!stop_) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(options_.flush_ms),
                   [this] { return stop_.load(); });
    }
    drainOnce();
  }
}

// Every worker's queue, once: the other workers learn the routes, and each jurisdiction's link
// gets that jurisdiction's routes (and no other).
void RouteShare::drainOnce() {
  auto routes = std::make_shared<std::vector<SharedRoute>>();
  for (auto& q : queues_)
    q->consume_all([&](SharedRoute* r) {
      routes->push_back(std::move(*r));
      delete r;
    });
  if (routes->empty()) return;
  for (auto& l : links_) {
    std::vector<routing::PeerRoute> mine;
    for (const auto& r : *routes)
      if (r.jurisdiction == l->jurisdiction()) mine.push_back(r.route);
    if (!mine.empty()) l->hand(std::move(mine));
  }
  if (options_.share_workers && options_.workers > 1) {
    shared_local_.inc(static_cast<double>(routes->size()));
    deliverToWorkers(routes);
  }
}

void RouteShare::deliverToWorkers(const SharedRoutes& routes) {
  for (size_t i = 0; i < options_.workers; ++i) deliver_(i, routes);
}

}  // namespace regiongate::gateway
