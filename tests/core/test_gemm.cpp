// gemm: the register-blocked SIMD kernel against the plain triple loop, on awkward sizes.
//
// Tolerance: each C value is a dot product of length K (plus C itself when accumulating), so
// whatever the summation order, |C - exact| <= K * u * (|C0| + sum_k |a_ik b_kj|) with u the unit
// roundoff (2^-24 float, 2^-53 double). We allow twice that, against a reference computed in
// long double from the same inputs.
#include <mien/core/gemm.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <mien/core/random.hpp>
#include <mien/core/simd.hpp>

namespace {

struct gemm_case {
    std::size_t M, N, K;
    bool transposed_a, accumulate;
    std::size_t pad_a, pad_b, pad_c;  // extra elements per row of A, B and C
};

// Runs one case; returns the number of C values outside the bound (and checks C's padding).
template <class T>
std::size_t run_case(gemm_case const& c, mien::random_generator& rng) {
    std::size_t const lda = (c.transposed_a ? c.M : c.K) + c.pad_a;
    std::size_t const ldb = c.N + c.pad_b, ldc = c.N + c.pad_c;
    std::vector<T> A((c.transposed_a ? c.K : c.M) * lda), B(c.K * ldb), C(c.M * ldc);
    for (auto& v : A) v = T(rng.uniform(-1, 1));
    for (auto& v : B) v = T(rng.uniform(-1, 1));
    T const sentinel = T(12345);
    for (std::size_t i = 0; i < C.size(); ++i) C[i] = i % ldc < c.N ? T(rng.uniform(-1, 1)) : sentinel;
    std::vector<T> const C0 = C;
    mien::gemm_args const s{c.transposed_a ? 1 : lda, c.transposed_a ? lda : 1, ldb, ldc};
    mien::gemm<T>(c.M, c.N, c.K, A.data(), B.data(), C.data(), s, c.accumulate);

    std::vector<long double> const Al(A.begin(), A.end()), Bl(B.begin(), B.end());
    std::vector<long double> exact(C0.begin(), C0.end());
    mien::gemm_reference<long double>(c.M, c.N, c.K, Al.data(), Bl.data(), exact.data(), s, c.accumulate);
    long double const u = std::numeric_limits<T>::epsilon() / 2;
    std::size_t misses = 0;
    for (std::size_t i = 0; i < c.M; ++i) {
        for (std::size_t j = 0; j < c.N; ++j) {
            long double magnitude = c.accumulate ? std::abs((long double)C0[i * ldc + j]) : 0;
            for (std::size_t k = 0; k < c.K; ++k) magnitude += std::abs(Al[i * s.a_row + k * s.a_col] * Bl[k * ldb + j]);
            long double const bound = 2 * (long double)(c.K + 1) * u * magnitude;
            misses += std::abs((long double)C[i * ldc + j] - exact[i * ldc + j]) > bound;
        }
        for (std::size_t j = c.N; j < ldc; ++j) misses += C[i * ldc + j] != sentinel;  // padding untouched
    }
    return misses;
}

template <class T>
void random_cases(std::uint64_t seed) {
    constexpr std::size_t V = mien::detail::simd_width<T>;
    mien::random_generator rng(seed);
    std::vector<gemm_case> cases;
    // Column counts around every panel width of the kernel (1, 2, 3, 4 registers and the tail).
    for (std::size_t const N : {std::size_t(1), V - 1, V, V + 1, 2 * V - 1, 2 * V + 1, 3 * V, 3 * V + 2, 4 * V, 4 * V + 1,
                                std::size_t(70)})
        for (std::size_t const M : {1, 5, 13})
            cases.push_back({M, N, 1 + rng.below(70), rng.below(2) == 1, rng.below(2) == 1, rng.below(3), rng.below(3), rng.below(3)});
    for (int i = 0; i < 120; ++i)
        cases.push_back({1 + rng.below(70), 1 + rng.below(70), 1 + rng.below(70), rng.below(2) == 1, rng.below(2) == 1,
                         rng.below(4), rng.below(4), rng.below(4)});
    for (auto const& c : cases) {
        INFO("M ", c.M, ", N ", c.N, ", K ", c.K, ", transposed A ", c.transposed_a, ", accumulate ", c.accumulate);
        CHECK(run_case<T>(c, rng) == 0);
    }
}

}  // namespace

TEST_CASE("gemm: float matches the reference within 2 (K + 1) u sum |a b| (u = 2^-24)") { random_cases<float>(1); }

TEST_CASE("gemm: double matches the reference within 2 (K + 1) u sum |a b| (u = 2^-53)") { random_cases<double>(2); }

TEST_CASE("gemm: accumulate adds to C, otherwise C is overwritten") {
    // [1 2; 3 4] x [1 0; 0 1] = A
    float const A[] = {1, 2, 3, 4}, I[] = {1, 0, 0, 1};
    float C[] = {10, 20, 30, 40};
    mien::gemm<float>(2, 2, 2, A, I, C, {2, 1, 2, 2}, true);
    CHECK(C[0] == 11);
    CHECK(C[1] == 22);
    CHECK(C[2] == 33);
    CHECK(C[3] == 44);
    mien::gemm<float>(2, 2, 2, A, I, C, {2, 1, 2, 2}, false);
    CHECK(C[0] == 1);
    CHECK(C[3] == 4);
    // A read transposed through its strides: A^T I = [1 3; 2 4]
    mien::gemm<float>(2, 2, 2, A, I, C, {1, 2, 2, 2}, false);
    CHECK(C[1] == 3);
    CHECK(C[2] == 2);
}
