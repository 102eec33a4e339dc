// Small helpers shared by the op front ends in native/src/core (argument
// messages, task counts). Internal to the core.
#pragma once
#include <cstdint>
#include <string>

#include "frugal/status.h"

namespace frugal {

// ⌈a / b⌉ for a >= 0, b > 0: the number of fixed-size tasks covering a items.
inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// "<op>: <name> is null" (a programming error of the C++ caller).
inline Status NullArgument(const char* op, const char* name) {
  return Status::Native(std::string(op) + ": " + name + " is null");
}

// Refusal of device memory by a build without the CUDA backend.
inline Status NoCudaBackend(const char* op) {
  return Status::Device(std::string(op) + ": this build of Frugal has no CUDA backend");
}

}  // namespace frugal
