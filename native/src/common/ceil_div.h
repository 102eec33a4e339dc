// ⌈a / b⌉ for a >= 0, b > 0: the number of fixed-size tasks, tiles or blocks
// covering a items. One definition for the core, the ISA kernels and the CUDA
// launchers. Internal linkage (an unnamed namespace), so each ISA's translation
// unit keeps its own copy: no inline function compiled under AVX-512 flags can be
// picked by the linker for another level.
#pragma once
#include <cstdint>

namespace frugal {
namespace {

constexpr int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace
}  // namespace frugal
