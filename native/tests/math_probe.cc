// MathProbeFor: math_probe-inl.h compiled once per vector level.
#include "math_probe.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "cpu/simd/vec_avx2.h"
namespace frugal {
namespace avx2 {
#include "math_probe-inl.h"
}  // namespace avx2
}  // namespace frugal
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#include "cpu/simd/vec_avx512.h"
namespace frugal {
namespace avx512 {
#include "math_probe-inl.h"
}  // namespace avx512
}  // namespace frugal
#pragma GCC pop_options

namespace frugal {
namespace test {

MathProbe MathProbeFor(Isa level) { return level == Isa::kAvx512 ? avx512::Probe : avx2::Probe; }

}  // namespace test
}  // namespace frugal
