// mien/core/simd.hpp -- the one place that includes xsimd.
//
// Kernels use simd_batch<T>: the widest SIMD register type the compiler was told it may use
// (-march=native gives AVX-512 on the reference machine; plain x86-64 gives SSE2). Scalar
// types xsimd does not vectorise fall back to a batch of one.
#pragma once

#include <cstddef>
#include <xsimd/xsimd.hpp>

namespace mien::detail {

template <class T>
using simd_batch = xsimd::batch<T>;

template <class T>
constexpr std::size_t simd_width = simd_batch<T>::size;

}  // namespace mien::detail
