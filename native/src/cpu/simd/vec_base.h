// What both vector wrappers (vec_avx2.h, vec_avx512.h) start from: the
// standard headers the single-source kernels use (*-inl.h files are included
// inside a namespace and cannot include them themselves), the force-inline
// marker, and the name pasting that lets vec_common-inl.h be written once.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#define FRUGAL_VEC inline __attribute__((always_inline))

#define FRUGAL_PASTE3(a, b, c) FRUGAL_PASTE3_(a, b, c)
#define FRUGAL_PASTE3_(a, b, c) a##b##c
#define FRUGAL_PASTE4(a, b, c, d) FRUGAL_PASTE4_(a, b, c, d)
#define FRUGAL_PASTE4_(a, b, c, d) a##b##c##d
