#pragma once
// Result<T>: the data plane's error channel (no exceptions cross it). An Error carries where it
// came from and whether a retry may help (after Pingora's ErrorSource / RetryType).
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace regiongate {

enum class ErrorSource { Downstream, Upstream, Internal, Config, Policy };

struct Error {
  ErrorSource source = ErrorSource::Internal;
  std::string code;     // machine-readable, e.g. "invalid_json", "connect_failed"
  std::string message;  // human-readable, names the offending key / value where there is one
  bool retryable = false;

  static Error config(std::string message, std::string code = "invalid_config") {
    return Error{ErrorSource::Config, std::move(code), std::move(message), false};
  }
  static Error internal(std::string message, std::string code = "internal_error") {
    return Error{ErrorSource::Internal, std::move(code), std::move(message), false};
  }
};

template <class T> class [[nodiscard]] Result {
public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}        // NOLINT: implicit by design
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

private:
  std::variant<T, Error> v_;
};

template <> class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace regiongate
