// What GHPA and GAB (ghpa.cc, gab.cc) share: views, the module scratch, the
// buffer carver and the shape checks. Internal to the core.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "core/front_end.h"
#include "frugal/feature_map.h"

// For each tensor of an X-macro list (frugal/hadamard.h): a null one is refused
// by its state_dict key. Used inside a function of `op` and the tensors `t`.
#define FRUGAL_HADAMARD_REQUIRE(field, key, shape) \
  if (!t.field) return NullArgument(op, key);

namespace frugal {
namespace hadamard_support {

constexpr float kEps = 1e-6f;

// Hands out consecutive pieces of one buffer.
class Carver {
 public:
  explicit Carver(float* base) : next_(base) {}
  float* Take(int64_t n) {
    float* p = next_;
    next_ += n;
    return p;
  }

 private:
  float* next_;
};

// The module's scratch: a grow-only host buffer per thread (a module call never
// nests in another), or a device buffer freed on return.
class Scratch {
 public:
  Status Get(const Context& ctx, const char* op, int64_t n, float** out) {
#ifdef FRUGAL_WITH_CUDA
    if (ctx.device == Device::kCuda) {
      FRUGAL_RETURN_IF_ERROR(device_.AllocateFloats(n));
      *out = device_.get();
      return Status::Ok();
    }
#else
    (void)ctx;
#endif
    thread_local std::vector<float> host;
    try {
      if (static_cast<int64_t>(host.size()) < n) host.resize(static_cast<size_t>(n));
    } catch (const std::bad_alloc&) {
      return Status::Native(std::string(op) + ": out of memory for " + std::to_string(n) + " floats of scratch");
    }
    *out = host.data();
    return Status::Ok();
  }

 private:
#ifdef FRUGAL_WITH_CUDA
  DeviceBuffer device_;
#endif
};

inline MapIn In(const float* data, int64_t batch_stride = 0) { return MapIn{data, batch_stride}; }
inline MapOut Out(float* data, int64_t batch_stride = 0) { return MapOut{data, batch_stride}; }

inline Status PositiveShape(const char* op, std::initializer_list<std::pair<const char*, int64_t>> sizes) {
  for (const auto& s : sizes) {
    if (s.second < 1) return Status::Shape(std::string(op) + ": expected " + s.first + " >= 1, got " + std::to_string(s.second));
  }
  return Status::Ok();
}

inline Status QuarterChannels(const char* op, const char* name, int64_t C) {
  if (C % 4 != 0) {
    return Status::Shape(std::string(op) + ": expected " + name + " divisible by 4 (four channel groups), got " + std::to_string(C));
  }
  return Status::Ok();
}

}  // namespace hadamard_support
}  // namespace frugal
