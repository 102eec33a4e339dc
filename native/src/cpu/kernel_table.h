// Every family's dispatch table is three structs of function pointers, one per
// ISA level; this picks the active one the same way for all of them.
#pragma once
#include "frugal/isa.h"

namespace frugal {

// The kernels of `isa` (the caller makes sure the CPU has that level).
template <class Kernels>
const Kernels& KernelsOfLevel(Isa isa, const Kernels& ref, const Kernels& avx2, const Kernels& avx512) {
  switch (isa) {
    case Isa::kAvx512: return avx512;
    case Isa::kAvx2: return avx2;
    default: return ref;
  }
}

}  // namespace frugal
