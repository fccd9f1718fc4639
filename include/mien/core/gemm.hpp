// mien/core/gemm.hpp -- the matrix product every heavy layer reduces to.
//
//   C[i][j] (+)= sum_k A(i, k) * B[k][j]      i < M, j < N, k < K
//
// A is read through two strides (A(i, k) = A[i * a_row + k * a_col]) so A or A^T can be used
// without copying; B and C are row-major with leading dimensions ldb and ldc. Convolutions
// (via im2col), pointwise and dense layers, and the attention products all call this.
//
// gemm_reference is the plain triple loop the tests compare against; gemm is the
// register-blocked xsimd kernel: MR rows of C by NV SIMD registers of columns stay in registers
// while k runs, so each loaded B vector feeds MR fused multiply-adds.
#pragma once

#include <cstddef>

#include "simd.hpp"

namespace mien {

struct gemm_args {
    std::size_t a_row, a_col;  // strides of A
    std::size_t ldb, ldc;      // leading dimensions of B and C
};

template <class T>
void gemm_reference(std::size_t M, std::size_t N, std::size_t K, T const* A, T const* B, T* C, gemm_args s,
                    bool accumulate) {
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            T sum = accumulate ? C[i * s.ldc + j] : T(0);
            for (std::size_t k = 0; k < K; ++k) sum += A[i * s.a_row + k * s.a_col] * B[k * s.ldb + j];
            C[i * s.ldc + j] = sum;
        }
}

namespace detail {

// One MR x (NV * width) block of C, all of k.
template <std::size_t MR, std::size_t NV, class T>
inline void gemm_block(std::size_t K, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    using batch = simd_batch<T>;
    constexpr std::size_t V = batch::size;
    batch acc[MR][NV];
    for (std::size_t r = 0; r < MR; ++r)
        for (std::size_t v = 0; v < NV; ++v)
            acc[r][v] = accumulate ? batch::load_unaligned(C + r * s.ldc + v * V) : batch(T(0));
    for (std::size_t k = 0; k < K; ++k) {
        batch b[NV];
        for (std::size_t v = 0; v < NV; ++v) b[v] = batch::load_unaligned(B + k * s.ldb + v * V);
        for (std::size_t r = 0; r < MR; ++r) {
            batch const a(A[r * s.a_row + k * s.a_col]);
            for (std::size_t v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(a, b[v], acc[r][v]);
        }
    }
    for (std::size_t r = 0; r < MR; ++r)
        for (std::size_t v = 0; v < NV; ++v) acc[r][v].store_unaligned(C + r * s.ldc + v * V);
}

// All rows for one column panel of NV vectors, MR rows at a time, then the leftover rows.
template <std::size_t MR, std::size_t NV, class T>
inline void gemm_panel(std::size_t M, std::size_t K, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    std::size_t i = 0;
    for (; i + MR <= M; i += MR) gemm_block<MR, NV>(K, A + i * s.a_row, B, C + i * s.ldc, s, accumulate);
    for (; i < M; ++i) gemm_block<1, NV>(K, A + i * s.a_row, B, C + i * s.ldc, s, accumulate);
}

}  // namespace detail

template <class T>
void gemm(std::size_t M, std::size_t N, std::size_t K, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    constexpr std::size_t V = detail::simd_width<T>;
    std::size_t j = 0;
    // Wide panels first (4 registers of columns, 4 rows), then 2, then 1, then a scalar tail.
    for (; j + 4 * V <= N; j += 4 * V) detail::gemm_panel<4, 4>(M, K, A, B + j, C + j, s, accumulate);
    for (; j + 2 * V <= N; j += 2 * V) detail::gemm_panel<6, 2>(M, K, A, B + j, C + j, s, accumulate);
    for (; j + V <= N; j += V) detail::gemm_panel<8, 1>(M, K, A, B + j, C + j, s, accumulate);
    if (j < N) gemm_reference(M, N - j, K, A, B + j, C + j, s, accumulate);
}

}  // namespace mien
