// A minimal test harness for the C++ tests (one executable per op family).
//
//   FRUGAL_TEST(gemm_matches_reference) { ... FRUGAL_CHECK(cond) << "context"; }
//   int main() { return frugal::test::RunAll(); }   // provided by FRUGAL_TEST_MAIN
//
// Helpers: ForEachIsa runs a body at every ISA level the machine has;
// ExpectClose compares arrays with a mixed absolute/relative tolerance.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "frugal/isa.h"
#include "frugal/status.h"

namespace frugal {
namespace test {

struct Case {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Case>& Registry() {
  static std::vector<Case> cases;
  return cases;
}
inline int& Failures() {
  static int failures = 0;
  return failures;
}
inline std::string& CurrentScope() {
  static std::string scope;
  return scope;
}

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { Registry().push_back({name, std::move(fn)}); }
};

// Collects a failure message; reported when it goes out of scope.
class Failure {
 public:
  Failure(const char* file, int line, const char* expr) {
    os_ << file << ":" << line << ": check failed: " << expr;
    if (!CurrentScope().empty()) os_ << " [" << CurrentScope() << "]";
    os_ << " ";
  }
  ~Failure() {
    std::fprintf(stderr, "%s\n", os_.str().c_str());
    ++Failures();
  }
  template <typename T>
  Failure& operator<<(const T& v) {
    os_ << v;
    return *this;
  }

 private:
  std::ostringstream os_;
};

inline int RunAll() {
  int failed_cases = 0;
  for (const Case& c : Registry()) {
    const int before = Failures();
    c.fn();
    const bool ok = Failures() == before;
    std::printf("%s %s\n", ok ? "[ pass ]" : "[ FAIL ]", c.name);
    if (!ok) ++failed_cases;
  }
  std::printf("%d passed, %d failed\n", static_cast<int>(Registry().size()) - failed_cases,
              failed_cases);
  return failed_cases == 0 ? 0 : 1;
}

// Runs body once per ISA level this CPU supports, with that level active.
inline void ForEachIsa(const std::function<void(Isa)>& body) {
  const Isa saved = ActiveIsa();
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512}) {
    if (static_cast<int>(isa) > static_cast<int>(MaxIsa())) break;
    (void)SetIsa(isa);
    CurrentScope() = std::string("isa=") + IsaName(isa);
    body(isa);
  }
  CurrentScope().clear();
  (void)SetIsa(saved);
}

// Deterministic test data: uniform in [-1, 1).
inline std::vector<float> RandomVector(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

// An output buffer of n floats between two guard regions of sentinel values:
// a kernel that writes one element before or after its output (a bad tail
// mask, a wrong leading dimension) is caught by Intact(), checked after every
// call with FRUGAL_CHECK_GUARDS. The body starts as `fill` (or copies `init`).
class Guarded {
 public:
  static constexpr size_t kGuard = 64;  // floats each side: a full zmm tile row and more
  explicit Guarded(size_t n, float fill = 0.0f) : n_(n), buf_(n + 2 * kGuard, Sentinel()) {
    std::fill(data(), data() + n, fill);
  }
  explicit Guarded(const std::vector<float>& init) : Guarded(init.size()) {
    std::copy(init.begin(), init.end(), data());
  }
  float* data() { return buf_.data() + kGuard; }
  const float* data() const { return buf_.data() + kGuard; }
  size_t size() const { return n_; }
  float& operator[](size_t i) { return data()[i]; }
  std::vector<float> body() const { return std::vector<float>(data(), data() + n_); }
  bool Intact() const {
    const uint32_t want = SentinelBits();
    for (size_t i = 0; i < buf_.size(); ++i) {
      if (i >= kGuard && i < kGuard + n_) continue;
      uint32_t bits;
      std::memcpy(&bits, &buf_[i], 4);
      if (bits != want) return false;
    }
    return true;
  }

 private:
  // A NaN payload no kernel produces by arithmetic.
  static uint32_t SentinelBits() { return 0x7fbadbadu; }
  static float Sentinel() {
    const uint32_t bits = SentinelBits();
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  size_t n_;
  std::vector<float> buf_;
};

// True when |got - want| <= atol + rtol * |want| everywhere; reports the worst element.
template <typename Got, typename Want>
bool ExpectClose(const Got* got, const Want* want, size_t n, double atol, double rtol,
                 const std::string& what, const char* file, int line) {
  double worst = 0;
  size_t at = 0;
  bool ok = true;
  for (size_t i = 0; i < n; ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    const double excess = std::fabs(g - w) - (atol + rtol * std::fabs(w));
    if (!(excess <= 0)) {  // also catches NaN
      if (ok || excess > worst || std::isnan(excess)) {
        worst = excess;
        at = i;
      }
      ok = false;
    }
  }
  if (!ok) {
    Failure(file, line, what.c_str()) << "element " << at << " got " << static_cast<double>(got[at])
                                      << " want " << static_cast<double>(want[at]) << " (atol "
                                      << atol << ", rtol " << rtol << ")";
  }
  return ok;
}

}  // namespace test
}  // namespace frugal

#define FRUGAL_TEST_CONCAT2(a, b) a##b
#define FRUGAL_TEST_CONCAT(a, b) FRUGAL_TEST_CONCAT2(a, b)
#define FRUGAL_TEST(name)                                                            \
  static void name();                                                                \
  static ::frugal::test::Registrar FRUGAL_TEST_CONCAT(registrar_, name)(#name, name); \
  static void name()
#define FRUGAL_TEST_MAIN \
  int main() { return ::frugal::test::RunAll(); }
#define FRUGAL_CHECK(cond) \
  if (cond) {              \
  } else                   \
    ::frugal::test::Failure(__FILE__, __LINE__, #cond)
#define FRUGAL_CHECK_OK(expr)                                            \
  do {                                                                   \
    ::frugal::Status s_ = (expr);                                        \
    FRUGAL_CHECK(s_.ok()) << #expr << ": " << s_.message();              \
  } while (0)
#define FRUGAL_CHECK_GUARDS(buffer) FRUGAL_CHECK((buffer).Intact()) << #buffer ": a write outside the output"

#define FRUGAL_EXPECT_CLOSE(got, want, n, atol, rtol, what) \
  ::frugal::test::ExpectClose((got), (want), (n), (atol), (rtol), (what), __FILE__, __LINE__)
