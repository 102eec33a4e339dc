// TensorView: a borrowed, typed window on memory the caller owns.
#pragma once
#include <cstdint>
#include <initializer_list>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

constexpr int kMaxDims = 6;

struct TensorView {
  float* data = nullptr;
  int ndim = 0;
  int64_t shape[kMaxDims] = {0};
  int64_t stride[kMaxDims] = {0};  // in elements
  Device device = Device::kCpu;

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
  int64_t dim(int i) const { return shape[i < 0 ? ndim + i : i]; }

  // A contiguous (row-major) view of `data` with the given shape.
  static TensorView Contiguous(float* data, std::initializer_list<int64_t> dims,
                               Device device = Device::kCpu) {
    TensorView v;
    v.data = data;
    v.device = device;
    for (int64_t d : dims) v.shape[v.ndim++] = d;
    int64_t s = 1;
    for (int i = v.ndim - 1; i >= 0; --i) {
      v.stride[i] = s;
      s *= v.shape[i];
    }
    return v;
  }
};

}  // namespace frugal
