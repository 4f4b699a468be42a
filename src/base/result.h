#pragma once

#include <cassert>
#include <optional>
#include <utility>

#include "base/status.h"

namespace ca {

/// Either a value of type T or a non-OK Status. Must be used.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result constructed from an OK status without a value");
    if (status_.ok()) status_ = Internal("Result constructed from an OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace ca

#define CA_CONCAT_INNER_(a, b) a##b
#define CA_CONCAT_(a, b) CA_CONCAT_INNER_(a, b)

/// `CA_ASSIGN_OR_RETURN(auto x, Expr())`: on error returns the Status, else binds the value.
#define CA_ASSIGN_OR_RETURN(lhs, expr) \
  CA_ASSIGN_OR_RETURN_IMPL_(CA_CONCAT_(ca_result_, __LINE__), lhs, expr)
#define CA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
