// mien/core/gemm.hpp -- the matrix product every heavy layer reduces to.
//
//   C[i][j] (+)= sum_k A(i, k) * B[k][j]      i < M, j < N, k < K
//
// A is read through two strides (A(i, k) = A[i * a_row + k * a_col]) so A or A^T can be used
// without copying; B and C are row-major with leading dimensions ldb and ldc. Convolutions,
// pointwise and dense layers, and the attention products all call this.
//
// gemm_reference is the plain triple loop the tests compare against; gemm is the
// register-blocked xsimd kernel: MR rows of C by NV SIMD registers of columns stay in registers
// while k runs, so each loaded B vector feeds MR fused multiply-adds and each broadcast A value
// feeds NV. With 32 registers (AVX-512) the blocks are 6x4, 8x3, 12x2 and 8x1 registers: 24
// accumulators plus the B vectors and one broadcast. Columns left over (fewer than one
// register) fall back to scalar code.
//
// detail::gemm_strided runs k in `segments` runs of `len` steps, each run starting at its own
// offset into A and B. That is what a convolution is without im2col: the patch row of output
// pixel i, for kernel row ky, is K * Cin contiguous values of the (padded) input, and the rows
// ky are Wp * Cin apart (see layers/conv2d.hpp).
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

// The register block's loops over rows and registers must be unrolled for the accumulators to
// stay in registers; -O2/-O3 do that by themselves, -Os (usual in firmware) does not, and then
// every multiply-add loads and stores its accumulator (5x the instructions on a Cortex-M7).
#if defined(__GNUC__)
#define MIEN_UNROLL _Pragma("GCC unroll 16")
#else
#define MIEN_UNROLL
#endif

// How k runs: `segments` runs of `len` steps. Step k of run s reads A(i) at
// A[i * a_row + s * a_seg + k * a_col] and B at B[s * b_seg + k * ldb].
struct gemm_loop {
    std::size_t segments, len, a_seg, b_seg;
};

// One MR x (NV * width) block of C, all of k.
template <std::size_t MR, std::size_t NV, class T>
inline void gemm_block(gemm_loop L, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    using batch = simd_batch<T>;
    constexpr std::size_t V = batch::size;
    batch acc[MR][NV];
    if (accumulate) {
        MIEN_UNROLL for (std::size_t r = 0; r < MR; ++r)
            MIEN_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[r][v] = batch::load_unaligned(C + r * s.ldc + v * V);
    } else {
        MIEN_UNROLL for (std::size_t r = 0; r < MR; ++r)
            MIEN_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[r][v] = batch(T(0));
    }
    for (std::size_t seg = 0; seg < L.segments; ++seg) {
        T const* a = A + seg * L.a_seg;
        T const* b = B + seg * L.b_seg;
        for (std::size_t k = 0; k < L.len; ++k, a += s.a_col, b += s.ldb) {
            batch bv[NV];
            MIEN_UNROLL for (std::size_t v = 0; v < NV; ++v) bv[v] = batch::load_unaligned(b + v * V);
            MIEN_UNROLL for (std::size_t r = 0; r < MR; ++r) {
                batch const av(a[r * s.a_row]);
                MIEN_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[r][v] = detail::fma(av, bv[v], acc[r][v]);
            }
        }
    }
    MIEN_UNROLL for (std::size_t r = 0; r < MR; ++r)
        MIEN_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[r][v].store_unaligned(C + r * s.ldc + v * V);
}

// Rows [0, R) of a panel in blocks of fewer than MR rows (R < MR), one template per count.
template <std::size_t MR, std::size_t NV, class T>
inline void gemm_rows_tail(std::size_t R, gemm_loop L, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    if constexpr (MR > 1) {
        if (R == MR - 1) return gemm_block<MR - 1, NV>(L, A, B, C, s, accumulate);
        gemm_rows_tail<MR - 1, NV>(R, L, A, B, C, s, accumulate);
    }
}

// All rows for one column panel of NV registers, MR rows at a time, then the leftover rows.
template <std::size_t MR, std::size_t NV, class T>
inline void gemm_panel(std::size_t M, gemm_loop L, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    std::size_t i = 0;
    for (; i + MR <= M; i += MR) gemm_block<MR, NV>(L, A + i * s.a_row, B, C + i * s.ldc, s, accumulate);
    if (i < M) gemm_rows_tail<MR, NV>(M - i, L, A + i * s.a_row, B, C + i * s.ldc, s, accumulate);
}

// Scalar columns [0, N) (fewer than one register), with the same k loop.
template <class T>
inline void gemm_scalar(std::size_t M, std::size_t N, gemm_loop L, T const* A, T const* B, T* C, gemm_args s,
                        bool accumulate) {
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            T sum = accumulate ? C[i * s.ldc + j] : T(0);
            for (std::size_t seg = 0; seg < L.segments; ++seg)
                for (std::size_t k = 0; k < L.len; ++k)
                    sum += A[i * s.a_row + seg * L.a_seg + k * s.a_col] * B[seg * L.b_seg + k * s.ldb + j];
            C[i * s.ldc + j] = sum;
        }
}

// C (+)= the product with k run as described by L (see gemm_loop).
template <class T>
void gemm_strided(std::size_t M, std::size_t N, gemm_loop L, T const* A, T const* B, T* C, gemm_args s,
                  bool accumulate) {
    constexpr std::size_t V = simd_width<T>;
    constexpr bool wide = simd_batch<T>::size * sizeof(T) >= 64;  // 32 registers: AVX-512
    std::size_t j = 0;
    // With the scalar batch (V = 1, a target without SIMD) the same blocking keeps 3x4 (4x3,
    // 6x2, 8x1) accumulators in floating-point registers: a Cortex-M7 has 32 of them.
    for (; j + 4 * V <= N; j += 4 * V) gemm_panel<wide ? 6 : 3, 4>(M, L, A, B + j, C + j, s, accumulate);
    if (j + 3 * V <= N) {
        gemm_panel<wide ? 8 : 4, 3>(M, L, A, B + j, C + j, s, accumulate);
        j += 3 * V;
    } else if (j + 2 * V <= N) {
        gemm_panel<wide ? 12 : 6, 2>(M, L, A, B + j, C + j, s, accumulate);
        j += 2 * V;
    } else if (j + V <= N) {
        gemm_panel<8, 1>(M, L, A, B + j, C + j, s, accumulate);
        j += V;
    }
    if (j < N) gemm_scalar(M, N - j, L, A, B + j, C + j, s, accumulate);
}

}  // namespace detail

template <class T>
void gemm(std::size_t M, std::size_t N, std::size_t K, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    detail::gemm_strided(M, N, detail::gemm_loop{1, K, 0, 0}, A, B, C, s, accumulate);
}

}  // namespace mien
