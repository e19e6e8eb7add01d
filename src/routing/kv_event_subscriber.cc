#include "routing/kv_event_subscriber.h"

#include <zmq.hpp>

namespace regiongate::routing {

struct KvEventSubscriber::State {
  zmq::context_t ctx{1};
  std::vector<zmq::socket_t> sockets;
  std::vector<int64_t> last_seq;
};

KvEventSubscriber::KvEventSubscriber(std::shared_ptr<KvEventIndex> index,
                                     std::vector<KvEventSource> sources, int poll_ms)
    : index_(std::move(index)), sources_(std::move(sources)), poll_ms_(poll_ms) {}

KvEventSubscriber::~KvEventSubscriber() { stop(); }

Status KvEventSubscriber::start() {
  if (thread_.joinable()) return {};
  try {
    state_ = std::make_unique<State>();
    for (const auto& src : sources_) {
      zmq::socket_t s(state_->ctx, zmq::socket_type::sub);
      s.set(zmq::sockopt::linger, 0);
      s.set(zmq::sockopt::subscribe, src.topic);
      s.connect(src.address);
      state_->sockets.push_back(std::move(s));
      state_->last_seq.push_back(-1);
    }
  } catch (const zmq::error_t& e) {
    state_.reset();
    return Error::config(std::string("kv events: ") + e.what(), "kv_events_connect");
  }
  stop_ = false;
  thread_ = std::thread([this] { run(); });
  return {};
}

void KvEventSubscriber::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  state_.reset();
}

void KvEventSubscriber::run() {
  std::vector<zmq::pollitem_t> items;
  for (auto& s : state_->sockets) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
  while (!stop_.load()) {
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(poll_ms_));
      for (size_t i = 0; i < items.size(); ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        // Drain what is ready, bounded per round so one chatty backend cannot starve the rest.
        for (int n = 0; n < 256; ++n) {
          std::vector<zmq::message_t> parts;
          zmq::message_t part;
          bool got = false;
          while (state_->sockets[i].recv(part, zmq::recv_flags::dontwait)) {
            got = true;
            bool more = part.more();
            parts.push_back(std::move(part));
            part = zmq::message_t();
            if (!more) break;
          }
          if (!got) break;
          // vLLM: [topic, seq (8 bytes big-endian), payload]; tolerate [payload] alone.
          const zmq::message_t& payload = parts.back();
          if (parts.size() >= 3 && parts[1].size() == 8) {
            const auto* b = static_cast<const uint8_t*>(parts[1].data());
            int64_t seq = 0;
            for (int k = 0; k < 8; ++k) seq = (seq << 8) | b[k];
            if (state_->last_seq[i] >= 0 && seq != state_->last_seq[i] + 1) ++gaps_;
            state_->last_seq[i] = seq;
          }
          auto batch = decodeKvEventBatch(
              {static_cast<const char*>(payload.data()), payload.size()});
          if (!batch) {
            ++decode_errors_;
            continue;
          }
          index_->apply(sources_[i].endpoint, *batch);
          ++batches_;
        }
      }
    } catch (const zmq::error_t&) {
      // Context terminated or interrupted: the next loop iteration checks stop_.
    }
  }
}

}  // namespace regiongate::routing
