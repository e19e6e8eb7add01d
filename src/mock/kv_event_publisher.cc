#include "mock/kv_event_publisher.h"

#include <msgpuck.h>
#include <zmq.h>

#include <algorithm>
#include <cstring>

namespace regiongate::mock {
namespace {

// msgpuck writes into a caller-sized buffer; these helpers grow a std::string as needed.
class Writer {
public:
  void arr(uint32_t n) { grow(mp_sizeof_array(n)); pos_ = mp_encode_array(pos_, n); sync(); }
  void str(std::string_view s) {
    grow(mp_sizeof_str(static_cast<uint32_t>(s.size())));
    pos_ = mp_encode_str(pos_, s.data(), static_cast<uint32_t>(s.size()));
    sync();
  }
  void uint(uint64_t v) { grow(mp_sizeof_uint(v)); pos_ = mp_encode_uint(pos_, v); sync(); }
  void nil() { grow(mp_sizeof_nil()); pos_ = mp_encode_nil(pos_); sync(); }
  void dbl(double v) { grow(mp_sizeof_double(v)); pos_ = mp_encode_double(pos_, v); sync(); }
  std::string take() { buf_.resize(used_); return std::move(buf_); }

private:
  void grow(size_t n) {
    if (buf_.size() < used_ + n) buf_.resize(std::max(buf_.size() * 2, used_ + n + 64));
    pos_ = buf_.data() + used_;
  }
  void sync() { used_ = static_cast<size_t>(pos_ - buf_.data()); }
  std::string buf_;
  size_t used_ = 0;
  char* pos_ = nullptr;
};

}  // namespace

std::string encodeKvEventBatch(double ts_seconds, const std::vector<inference::KvEvent>& events) {
  Writer w;
  w.arr(2);
  w.dbl(ts_seconds);
  w.arr(static_cast<uint32_t>(events.size()));
  for (const auto& e : events) {
    switch (e.kind) {
      case inference::KvEvent::Kind::BlockStored:
        w.arr(7);
        w.str("BlockStored");
        w.arr(static_cast<uint32_t>(e.block_hashes.size()));
        for (uint64_t h : e.block_hashes) w.uint(h);
        if (e.parent_block_hash) w.uint(*e.parent_block_hash); else w.nil();
        w.arr(static_cast<uint32_t>(e.token_ids.size()));
        for (inference::TokenId t : e.token_ids) w.uint(t);
        w.uint(e.block_size);
        w.nil();
        w.nil();
        break;
      case inference::KvEvent::Kind::BlockRemoved:
        w.arr(3);
        w.str("BlockRemoved");
        w.arr(static_cast<uint32_t>(e.block_hashes.size()));
        for (uint64_t h : e.block_hashes) w.uint(h);
        w.nil();
        break;
      case inference::KvEvent::Kind::AllBlocksCleared:
        w.arr(1);
        w.str("AllBlocksCleared");
        break;
    }
  }
  return w.take();
}

Result<std::unique_ptr<KvEventPublisher>> KvEventPublisher::start(const std::string& endpoint,
                                                                  std::string topic,
                                                                  const Clock& clock) {
  std::unique_ptr<KvEventPublisher> p(new KvEventPublisher(clock, std::move(topic)));
  p->zmq_ctx_ = zmq_ctx_new();
  p->socket_ = zmq_socket(p->zmq_ctx_, ZMQ_PUB);
  int linger = 0;
  zmq_setsockopt(p->socket_, ZMQ_LINGER, &linger, sizeof(linger));
  if (zmq_bind(p->socket_, endpoint.c_str()) != 0) {
    std::string err = zmq_strerror(zmq_errno());
    zmq_close(p->socket_);
    zmq_ctx_term(p->zmq_ctx_);
    p->socket_ = nullptr;
    p->zmq_ctx_ = nullptr;
    return Error::config("--kv-events: cannot bind '" + endpoint + "': " + err, "kv_events_bind");
  }
  char last[256] = {0};
  size_t last_len = sizeof(last);
  if (zmq_getsockopt(p->socket_, ZMQ_LAST_ENDPOINT, last, &last_len) == 0)
    p->endpoint_ = last;
  else
    p->endpoint_ = endpoint;
  p->thread_ = std::thread([raw = p.get()] { raw->run(); });
  return p;
}

KvEventPublisher::~KvEventPublisher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (socket_) zmq_close(socket_);
  if (zmq_ctx_) zmq_ctx_term(zmq_ctx_);
}

void KvEventPublisher::publish(inference::KvEvent event) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(event));
  }
  cv_.notify_one();
}

uint64_t KvEventPublisher::published() const {
  std::lock_guard lock(mu_);
  return sent_;
}

void KvEventPublisher::run() {
  for (;;) {
    std::vector<inference::KvEvent> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      // Batch what has accumulated (bounded, so one message stays small).
      while (!queue_.empty() && batch.size() < 256) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::string payload =
        encodeKvEventBatch(static_cast<double>(clock_.wallMicros()) / 1e6, batch);
    unsigned char seq[8];
    for (int i = 0; i < 8; ++i) seq[i] = static_cast<unsigned char>(seq_ >> (56 - 8 * i));
    ++seq_;
    zmq_send(socket_, topic_.data(), topic_.size(), ZMQ_SNDMORE);
    zmq_send(socket_, seq, sizeof(seq), ZMQ_SNDMORE);
    zmq_send(socket_, payload.data(), payload.size(), 0);
    std::lock_guard lock(mu_);
    ++sent_;
  }
}

}  // namespace regiongate::mock
