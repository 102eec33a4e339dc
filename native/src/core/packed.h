// Packed batches of variable-length sequences, a primitive of every family that
// takes them (slash's prompt ops today, packed path attention next): sample b owns
// rows [offsets[b], offsets[b + 1]) of a [total, width] tensor, offsets being
// batch + 1 int32 values in host memory. Checks the offsets once, and gives the
// CUDA launchers a device copy made at most once per call. Internal to the core.
#pragma once
#include <cstdint>

#include "core/front_end.h"
#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

#ifdef FRUGAL_WITH_CUDA
// A host int32 array's device copy, made on the first Get and reused by the
// later launches of the same op call; freed with this object.
class DeviceInts {
 public:
  DeviceInts(const int32_t* host, int64_t n) : host_(host), n_(n) {}
  Status Get(const int32_t** out);

 private:
  const int32_t* host_;
  int64_t n_;
  DeviceBuffer device_;
};
#endif

class PackedOffsets {
 public:
  PackedOffsets(const int32_t* offsets, int64_t batch)
      : host_(offsets),
        batch_(batch)
#ifdef FRUGAL_WITH_CUDA
        ,
        device_(offsets, batch + 1)
#endif
  {
  }

  // offsets non-null, offsets[0] = 0 and non-decreasing (increasing when every
  // sample must own a row, `nonempty`); E_SHAPE naming `op` and the first bad pair.
  Status Check(const char* op, bool nonempty) const;

  const int32_t* host() const { return host_; }
  int64_t batch() const { return batch_; }
  int64_t total() const { return host_[batch_]; }

#ifdef FRUGAL_WITH_CUDA
  // The offsets in device memory (a DeviceInts copy).
  Status OnDevice(const int32_t** out) { return device_.Get(out); }
#endif

 private:
  const int32_t* host_;
  int64_t batch_;
#ifdef FRUGAL_WITH_CUDA
  DeviceInts device_;
#endif
};

#ifdef FRUGAL_WITH_CUDA
// Runs `launch(device_offsets)` on ctx's stream and waits for it.
template <class Launch>
Status WithDeviceOffsets(const Context& ctx, PackedOffsets& packed, Launch&& launch) {
  const int32_t* offsets = nullptr;
  FRUGAL_RETURN_IF_ERROR(packed.OnDevice(&offsets));
  FRUGAL_RETURN_IF_ERROR(launch(offsets));
  return CudaSynchronize(ctx.stream);
}
#endif

}  // namespace frugal
