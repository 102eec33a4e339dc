// Status: the only way errors leave the core. Nothing in Frugal's core throws
// across the addon boundary, aborts or exits; every entry point returns one.
#pragma once
#include <string>
#include <utility>

namespace frugal {

// Codes mirror the TypeScript FrugalError codes so the addon maps them 1:1.
// kAborted: an async call cancelled through its AbortSignal.
enum class Code { kOk = 0, kShape, kDType, kRange, kDevice, kConfig, kNative, kAborted };

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status Shape(std::string m) { return Status(Code::kShape, std::move(m)); }
  static Status Range(std::string m) { return Status(Code::kRange, std::move(m)); }
  static Status Device(std::string m) { return Status(Code::kDevice, std::move(m)); }
  static Status Native(std::string m) { return Status(Code::kNative, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// The string form of a code, as the TypeScript side names it ("E_SHAPE", ...).
const char* CodeName(Code code);

}  // namespace frugal

#define FRUGAL_RETURN_IF_ERROR(expr)            \
  do {                                          \
    ::frugal::Status frugal_status_ = (expr);   \
    if (!frugal_status_.ok()) return frugal_status_; \
  } while (0)
