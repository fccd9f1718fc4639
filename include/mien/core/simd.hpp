// mien/core/simd.hpp -- the one place that decides how kernels vectorise.
//
// Kernels are written once against simd_batch<T> and the free functions fma and select below.
// Which type that is gets decided here, at compile time:
//  * xsimd's batch<T>, the widest register the compiler was told it may use, where xsimd has
//    the architecture: x86 (SSE2 ... AVX-512; -march=native gives AVX-512 on the reference
//    machine) and ARM NEON;
//  * scalar_batch<T>, a register of one lane written in plain C++, everywhere else (Cortex-M,
//    RISC-V, ...), or when MIEN_NO_SIMD is defined (the tests build the host that way too, to
//    check that both paths give the same probabilities). The scalar path includes nothing of
//    xsimd, whose headers need an architecture and an aligned allocator (posix_memalign) that
//    freestanding targets do not have.
// MIEN_SIMD is 1 on the xsimd path and 0 on the scalar one.
#pragma once

#include <cstddef>

#if !defined(MIEN_NO_SIMD) && (defined(__SSE2__) || defined(_M_X64) || defined(__ARM_NEON) || defined(__aarch64__))
#define MIEN_SIMD 1
#include <xsimd/xsimd.hpp>
#else
#define MIEN_SIMD 0
#endif

namespace mien::detail {

// One lane of T, with the subset of xsimd's batch interface the kernels use.
template <class T>
struct scalar_batch {
    using value_type = T;
    struct batch_bool_type {
        bool value = false;
        constexpr batch_bool_type() = default;
        constexpr batch_bool_type(bool v) : value(v) {}
        friend constexpr batch_bool_type operator&(batch_bool_type a, batch_bool_type b) { return a.value && b.value; }
        friend constexpr batch_bool_type operator|(batch_bool_type a, batch_bool_type b) { return a.value || b.value; }
        friend constexpr batch_bool_type operator~(batch_bool_type a) { return !a.value; }
    };
    static constexpr std::size_t size = 1;
    T value{};

    constexpr scalar_batch() = default;
    constexpr scalar_batch(T v) : value(v) {}
    static scalar_batch load_unaligned(T const* p) { return *p; }
    static scalar_batch load_aligned(T const* p) { return *p; }
    void store_unaligned(T* p) const { *p = value; }
    void store_aligned(T* p) const { *p = value; }

    friend constexpr scalar_batch operator+(scalar_batch a, scalar_batch b) { return a.value + b.value; }
    friend constexpr scalar_batch operator-(scalar_batch a, scalar_batch b) { return a.value - b.value; }
    friend constexpr scalar_batch operator*(scalar_batch a, scalar_batch b) { return a.value * b.value; }
    friend constexpr scalar_batch operator/(scalar_batch a, scalar_batch b) { return a.value / b.value; }
    friend constexpr scalar_batch operator-(scalar_batch a) { return -a.value; }
    constexpr scalar_batch& operator+=(scalar_batch b) { value += b.value; return *this; }
    constexpr scalar_batch& operator*=(scalar_batch b) { value *= b.value; return *this; }
    friend constexpr batch_bool_type operator>(scalar_batch a, scalar_batch b) { return a.value > b.value; }
    friend constexpr batch_bool_type operator<(scalar_batch a, scalar_batch b) { return a.value < b.value; }
    friend constexpr batch_bool_type operator==(scalar_batch a, scalar_batch b) { return a.value == b.value; }
};

template <class T>
constexpr scalar_batch<T> fma(scalar_batch<T> a, scalar_batch<T> b, scalar_batch<T> c) {
    // a * b + c in two roundings, as the scalar tails of the kernels compute it (a contracted
    // FMA where the compiler and target allow one).
    return a.value * b.value + c.value;
}
template <class T>
constexpr scalar_batch<T> select(typename scalar_batch<T>::batch_bool_type m, scalar_batch<T> a, scalar_batch<T> b) {
    return m.value ? a : b;
}

#if MIEN_SIMD
template <class T>
using simd_batch = xsimd::batch<T>;

template <class T, class A>
inline xsimd::batch<T, A> fma(xsimd::batch<T, A> a, xsimd::batch<T, A> b, xsimd::batch<T, A> c) {
    return xsimd::fma(a, b, c);
}
template <class T, class A>
inline xsimd::batch<T, A> select(xsimd::batch_bool<T, A> const& m, xsimd::batch<T, A> a, xsimd::batch<T, A> b) {
    return xsimd::select(m, a, b);
}
#else
template <class T>
using simd_batch = scalar_batch<T>;
#endif

template <class T>
constexpr std::size_t simd_width = simd_batch<T>::size;

}  // namespace mien::detail
