#include "http/deadline.h"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

namespace regiongate::http {

asio::execution_context::id DeadlineService::id;

DeadlineService::DeadlineService(asio::execution_context& ctx)
    : asio::execution_context::service(ctx),
      ctx_(static_cast<asio::io_context&>(ctx)),
      timer_(ctx_) {}

DeadlineService::~DeadlineService() = default;

DeadlineService& DeadlineService::of(const asio::any_io_executor& ex) {
  return asio::use_service<DeadlineService>(asio::query(ex, asio::execution::context));
}

void DeadlineService::shutdown() {
  shut_down_ = true;
  timer_.cancel();
  // Deadlines still linked belong to objects destroyed later; they unlink themselves.
}

void DeadlineService::link(Deadline* d) {
  d->prev_ = nullptr;
  d->next_ = head_;
  if (head_) head_->prev_ = d;
  head_ = d;
  d->linked_ = true;
  ++armed_;
  if (!ticking_ && !shut_down_) schedule();
}

void DeadlineService::unlink(Deadline* d) {
  if (d->prev_) d->prev_->next_ = d->next_;
  else head_ = d->next_;
  if (d->next_) d->next_->prev_ = d->prev_;
  d->prev_ = d->next_ = nullptr;
  d->linked_ = false;
  --armed_;
}

void DeadlineService::schedule() {
  ticking_ = true;
  timer_.expires_after(resolution_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || shut_down_) {
      ticking_ = false;
      return;
    }
    sweep();
    if (head_ && !shut_down_) schedule();
    else ticking_ = false;
  });
}

void DeadlineService::sweep() {
  const auto now = Deadline::Clock::now();
  // cancel() only queues the aborted completions (never runs a handler inline), so the list
  // cannot change under this walk.
  for (Deadline* d = head_; d; d = d->next_) {
    if (d->when_ > now) continue;
    d->expired_ = true;
    boost::system::error_code ignored;
    d->socket_->cancel(ignored);
  }
}

void Deadline::arm(std::chrono::milliseconds d) {
  when_ = Clock::now() + d;
  expired_ = false;
  if (!linked_) svc_->link(this);
}

void Deadline::disarm() {
  if (linked_) svc_->unlink(this);
}

}  // namespace regiongate::http
