// CPU instruction-set levels and the dispatch switch.
//
// Every op family keeps a table of kernels per level (scalar reference, AVX2,
// AVX-512) and picks one through ActiveIsa(). The level starts at the best the
// CPU and OS allow (CPUID and XCR0), lowered by FRUGAL_FORCE_ISA=ref|avx2|avx512,
// and can be changed at run time with SetIsa (tests run every level this way).
#pragma once
#include "frugal/status.h"

namespace frugal {

enum class Isa { kRef = 0, kAvx2 = 1, kAvx512 = 2 };

// The best level this CPU and OS support, ignoring any override.
Isa MaxIsa();
// The level kernels dispatch to now.
Isa ActiveIsa();
// Selects a level; a level above MaxIsa() is refused with a Range status.
Status SetIsa(Isa isa);
const char* IsaName(Isa isa);
// Parses "ref", "avx2" or "avx512"; false when the name is unknown.
bool ParseIsa(const char* name, Isa* out);

}  // namespace frugal
