// mien/core/vector_ops.hpp -- element-wise loops over contiguous channels, vectorised.
//
// Each helper runs full SIMD registers with xsimd and finishes the tail (lengths that are not
// a multiple of the register width) with scalar code, so any channel count works.
#pragma once

#include <algorithm>
#include <cstddef>

#include "simd.hpp"

namespace mien::detail {

// acc[i] += a[i] * b[i]
template <class T>
inline void multiply_add(std::size_t n, T const* a, T const* b, T* acc) {
    using batch = simd_batch<T>;
    std::size_t i = 0;
    for (std::size_t const full = n - n % batch::size; i < full; i += batch::size) {
        auto r = detail::fma(batch::load_unaligned(a + i), batch::load_unaligned(b + i), batch::load_unaligned(acc + i));
        r.store_unaligned(acc + i);
    }
    for (; i < n; ++i) acc[i] += a[i] * b[i];
}

// acc[i] += a[i]
template <class T>
inline void add_to(std::size_t n, T const* a, T* acc) {
    using batch = simd_batch<T>;
    std::size_t i = 0;
    for (std::size_t const full = n - n % batch::size; i < full; i += batch::size)
        (batch::load_unaligned(acc + i) + batch::load_unaligned(a + i)).store_unaligned(acc + i);
    for (; i < n; ++i) acc[i] += a[i];
}

// out[i] = a[i] + b[i]
template <class T>
inline void add(std::size_t n, T const* a, T const* b, T* out) {
    using batch = simd_batch<T>;
    std::size_t i = 0;
    for (std::size_t const full = n - n % batch::size; i < full; i += batch::size)
        (batch::load_unaligned(a + i) + batch::load_unaligned(b + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

template <class T>
inline void copy(std::size_t n, T const* from, T* to) {
    std::copy_n(from, n, to);  // memmove for arithmetic types
}

template <class T>
inline void fill(std::size_t n, T value, T* to) {
    std::fill_n(to, n, value);
}

// Transposes a rows x cols row-major matrix (leading dimension ld) into cols x rows.
template <class T>
inline void transpose(std::size_t rows, std::size_t cols, T const* from, std::size_t ld, T* to) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) to[c * rows + r] = from[r * ld + c];
}

}  // namespace mien::detail
