// CPUID + XCR0 detection of the usable ISA level, and the run-time switch.
#include "frugal/isa.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define FRUGAL_X86 1
#endif

namespace frugal {
namespace {

#ifdef FRUGAL_X86
uint64_t ReadXcr0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
#endif

Isa DetectIsa() {
#ifdef FRUGAL_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::kRef;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12);
  if (!osxsave || !avx || !fma) return Isa::kRef;
  const uint64_t xcr0 = ReadXcr0();
  if ((xcr0 & 0x6) != 0x6) return Isa::kRef;  // the OS saves XMM and YMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::kRef;
  const bool avx2 = b & (1u << 5);
  if (!avx2) return Isa::kRef;
  // AVX-512 F, DQ, BW and VL, and the OS saves opmask and ZMM state (bits 5-7).
  const bool avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) &&
                      (b & (1u << 31)) && (xcr0 & 0xe0) == 0xe0;
  return avx512 ? Isa::kAvx512 : Isa::kAvx2;
#else
  return Isa::kRef;
#endif
}

Isa InitialIsa() {
  Isa isa = MaxIsa();
  const char* forced = std::getenv("FRUGAL_FORCE_ISA");
  Isa wanted;
  if (forced && ParseIsa(forced, &wanted) && static_cast<int>(wanted) < static_cast<int>(isa)) {
    isa = wanted;
  }
  return isa;
}

std::atomic<int>& ActiveSlot() {
  static std::atomic<int> slot{static_cast<int>(InitialIsa())};
  return slot;
}

}  // namespace

Isa MaxIsa() {
  static const Isa max = DetectIsa();
  return max;
}

Isa ActiveIsa() { return static_cast<Isa>(ActiveSlot().load(std::memory_order_relaxed)); }

Status SetIsa(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(MaxIsa())) {
    return Status::Range(std::string("isa: this CPU supports up to '") + IsaName(MaxIsa()) +
                         "', got '" + IsaName(isa) + "'");
  }
  ActiveSlot().store(static_cast<int>(isa), std::memory_order_relaxed);
  return Status::Ok();
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kRef: return "ref";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "ref";
}

bool ParseIsa(const char* name, Isa* out) {
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512}) {
    if (std::strcmp(name, IsaName(isa)) == 0) {
      *out = isa;
      return true;
    }
  }
  return false;
}

}  // namespace frugal
