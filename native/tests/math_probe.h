// The vectorised math of native/src/cpu/simd/math-inl.h, callable from tests
// built without ISA flags: MathProbeFor(level) gives each function over a
// whole span, compiled under a target pragma for its level (call a level only
// when the CPU has it). One probe source serves both levels.
#pragma once
#include <cstdint>

#include "frugal/isa.h"

namespace frugal {
namespace test {

enum class MathFn { kExp, kErf, kGelu, kGeluGrad, kLog, kSin, kCos };

// out[i] = fn(in[i]) for i < n.
using MathProbe = void (*)(MathFn fn, const float* in, int64_t n, float* out);
MathProbe MathProbeFor(Isa level);

}  // namespace test
}  // namespace frugal
