#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "base/error_code.h"

namespace ca {

/// The outcome of an operation that can fail in an expected way: OK, or an `ErrorCode` with a
/// human-readable message. Cheap to copy when OK (one null pointer). Must be used.
class [[nodiscard]] Status {
 public:
  Status() noexcept = default;
  Status(ErrorCode code, std::string_view message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  ErrorCode code() const { return rep_ ? rep_->code : ErrorCode::kOk; }
  /// The message; empty when OK.
  std::string_view message() const { return rep_ ? std::string_view(rep_->message) : ""; }
  /// "code_name: message", for logs.
  std::string ToString() const;

  /// Returns a copy whose message is prefixed with `context` and ": ".
  Status WithContext(std::string_view context) const;

  /// Marks a status as deliberately ignored.
  void IgnoreError() const {}

 private:
  struct Rep {
    ErrorCode code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;
};

inline bool operator==(const Status& a, ErrorCode b) { return a.code() == b; }

// Shorthands for the common codes.
inline Status InvalidArgument(std::string_view m) { return {ErrorCode::kInvalidArgument, m}; }
inline Status NotFound(std::string_view m) { return {ErrorCode::kNotFound, m}; }
inline Status Internal(std::string_view m) { return {ErrorCode::kInternal, m}; }
inline Status IoError(std::string_view m) { return {ErrorCode::kIoError, m}; }
inline Status Corruption(std::string_view m) { return {ErrorCode::kCorruption, m}; }
inline Status Unavailable(std::string_view m) { return {ErrorCode::kUnavailable, m}; }

}  // namespace ca

/// Evaluates `expr` (a Status); returns it from the enclosing function when not OK.
#define CA_RETURN_IF_ERROR(expr)                     \
  do {                                               \
    ::ca::Status ca_status_tmp_ = (expr);            \
    if (!ca_status_tmp_.ok()) return ca_status_tmp_; \
  } while (0)
