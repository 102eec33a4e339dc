// CopyMap: one task per (batch, channel) plane, a plane being contiguous.
#include "core/map_copy.h"

#include <cstring>

#include "core/front_end.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/map_copy.h"
#endif

namespace frugal {

Status CopyMap(const Context& ctx, const MapShape& s, MapIn in, MapOut out, bool add) {
  const int64_t plane = s.H * s.W, dense = s.C * plane;
  const int64_t in_stride = in.batch_stride ? in.batch_stride : dense;
  const int64_t out_stride = out.batch_stride ? out.batch_stride : dense;
  const bool empty = s.B * dense == 0;
  return Dispatch("copyMap", ctx, Empty{empty}, [&] {
    ParallelFor(s.B * s.C, [&](int64_t task) {
      const int64_t b = task / s.C, c = task % s.C;
      const float* src = in.data + b * in_stride + c * plane;
      float* dst = out.data + b * out_stride + c * plane;
      if (add) {
        for (int64_t i = 0; i < plane; ++i) dst[i] += src[i];
      } else {
        std::memcpy(dst, src, static_cast<size_t>(plane) * sizeof(float));
      }
    });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(CopyMapCuda(s, in_stride, in.data, out_stride, out.data, add, ctx.stream)));
}

}  // namespace frugal
