// What every GradDrop backend derives from a mask (frugal/graddrop.h): its unit
// count, the integer drop threshold and a kept unit's multiplier. One definition
// for the CPU front end and the CUDA launchers; the scalar oracle recomputes them
// from the contract on purpose.
#pragma once
#include <cmath>
#include <cstdint>

#include "common/ceil_div.h"
#include "frugal/graddrop.h"

namespace frugal {
namespace {  // internal linkage like CeilDiv, which it uses

// Units of the mask's granularity: rows·cols elements, rows, columns, blocks, or 1.
inline uint64_t GradMaskUnits(const GradMask& m) {
  switch (m.granularity) {
    case MaskGranularity::kElement: return static_cast<uint64_t>(m.rows) * static_cast<uint64_t>(m.cols);
    case MaskGranularity::kRow: return static_cast<uint64_t>(m.rows);
    case MaskGranularity::kColumn: return static_cast<uint64_t>(m.cols);
    case MaskGranularity::kBlock:
      return static_cast<uint64_t>(CeilDiv(m.rows, m.blockRows)) * static_cast<uint64_t>(CeilDiv(m.cols, m.blockCols));
    case MaskGranularity::kTensor: break;
  }
  return 1;
}

// ⌈p·2²⁴⌉ in [0, 2²⁴]: a unit is dropped iff the top 24 bits of its word are
// below it, which is exactly "uniform < p" (p·2²⁴ only shifts the exponent).
inline uint32_t GradMaskThreshold(const GradMask& m) { return static_cast<uint32_t>(std::ceil(m.p * 0x1p24)); }

// A kept unit's multiplier: 1/(1−p) with rescale (p < 1), else 1.
inline float GradMaskKeptScale(const GradMask& m) {
  return m.rescale && m.p < 1.0 ? static_cast<float>(1.0 / (1.0 - m.p)) : 1.0f;
}

}  // namespace
}  // namespace frugal
