// mien/layers/additive_attention.hpp -- additive (Bahdanau) attention, the paper's eq. (2).
//
//   E_ij = v^T tanh(Q_i W1 + Kt_j W2 + b),  B = softmax_rows(E),  O = B V
// Input: the qkv_shape<H, W, D, D, Cv> of a qk_projection (N = H*W tokens); output HxWxCv.
// Parameters W1 [D][D], W2 [D][D], b [D], v [D] (ARCHITECTURE.md section 2).
// macs = 2*N*D*D (the two projections) + N*N*D (the v-dot of every pair) + N*N*Cv (B V); tanh
// and softmax are not multiply-accumulates. Saves tanh(...) (N*N*D) and B (N*N) per sample.
#pragma once

#include <cmath>
#include <cstddef>
#include <string_view>

#include "../core/fast_math.hpp"
#include "../core/gemm.hpp"
#include "../core/layer.hpp"
#include "../core/simd.hpp"
#include "../core/softmax.hpp"
#include "../core/vector_ops.hpp"

namespace mien {

template <Shape In, class T>
struct additive_attention_layer : leaf_layer {
    static_assert(detail::is_qkv_shape<In>::value,
                  "additive_attention: input must be the query/key/value tokens of a qk_projection");
    static_assert(In::query_width == In::key_width, "additive_attention: query width != key width");
    static constexpr std::size_t N = In::pixels, D = In::query_width, Cv = In::value_width, width = In::channels;
    static constexpr std::size_t q = 0, k = D, v = 2 * D;  // column offsets in a token row
    static constexpr std::size_t w1 = 0, w2 = D * D, b = 2 * D * D, vv = 2 * D * D + D;  // parameter offsets
    using input_shape = In;
    using output_shape = shape<In::height, In::width, Cv>;
    using scalar = T;
    static constexpr std::string_view name = "additive_attention";
    static constexpr std::size_t params = 2 * D * D + 2 * D;
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = 2 * N * D * D + N * N * D + N * N * Cv;
    static constexpr std::size_t saved_per_sample = N * N * D + N * N;
    static constexpr std::size_t temp_size = Cv * N + 2 * N * N + 2 * N * D + D * D;
    // Prediction keeps no tanh values (N*N*D of them: 332 KB for the paper network, more than
    // all its other activations): P, R, the scores, the weights and one row of D.
    static constexpr std::size_t infer_size = 2 * N * D + 2 * N * N + D;

    static void init(T* p, T*, random_generator& rng) {
        double const limit = std::sqrt(6.0 / double(2 * D));
        for (std::size_t i = 0; i < 2 * D * D; ++i) p[i] = T(rng.uniform(-limit, limit));
        detail::fill(D, T(0), p + b);
        double const lv = std::sqrt(6.0 / double(D + 1));
        for (std::size_t i = 0; i < D; ++i) p[vv + i] = T(rng.uniform(-lv, lv));
    }

    template <class V>
    static constexpr void for_each_tensor(V&& f) {
        f(detail::tensor(name, "query_weight", w1, {D, D}));
        f(detail::tensor(name, "key_weight", w2, {D, D}));
        f(detail::tensor(name, "bias", b, {D}));
        f(detail::tensor(name, "score", vv, {D}));
    }

    // Samples are independent: each thread takes a slice, with its own scratch and gradients.
    static void forward(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* pm = f.temp_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                T* th = f.saved + s * saved_per_sample;  // tanh values, [i][j][D], kept for backward
                one_sample(f.params, x + s * In::size, y + s * output_shape::size, pm, th + N * N * D, th, D);
            }
        };
        f.for_samples(work);
    }

    // Prediction keeps one tanh row at a time.
    static void infer(frame<T> const& f, T const* x, T* y, T* scratch) {
        T* th = scratch + 2 * N * D + 2 * N * N;
        one_sample(f.params, x, y, scratch, scratch + 2 * N * D + N * N, th, 0);
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* vt = f.temp_of(t);     // V^T, Cv x N
            T* datt = vt + Cv * N;    // dB, N x N
            T* de = datt + N * N;     // dE, N x N
            T* dp = de + N * N;       // dP, N x D
            T* dr = dp + N * D;       // dR, N x D
            T* wt = dr + N * D;       // W^T, D x D
            T* g = f.grads_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T const* dys = dy + s * output_shape::size;
                T const* th = f.saved + s * saved_per_sample;
                T const* att = th + N * N * D;
                detail::transpose(N, Cv, xs + v, width, vt);
                gemm<T>(N, N, Cv, dys, vt, datt, {Cv, 1, N, N}, false);  // dB = dO V^T
                if (dx) gemm<T>(N, Cv, N, att, dys, dx + s * In::size + v, {1, N, Cv, width}, false);  // dV = B^T dO
                for (std::size_t i = 0; i < N; ++i) detail::softmax_backward(N, att + i * N, datt + i * N, de + i * N);
                gemm<T>(1, D, N * N, de, th, g + vv, {1, 1, D, D}, true);  // dv += sum_ij dE_ij tanh_ij
                score_backward(f.params + vv, de, th, dp, dr);
                for (std::size_t i = 0; i < N; ++i) detail::add_to(D, dp + i * D, g + b);
                gemm<T>(D, D, N, xs + q, dp, g + w1, {1, width, D, D}, true);  // dW1 += Q^T dP
                gemm<T>(D, D, N, xs + k, dr, g + w2, {1, width, D, D}, true);  // dW2 += K^T dR
                if (!dx) continue;
                T* dxs = dx + s * In::size;
                detail::transpose(D, D, f.params + w1, D, wt);
                gemm<T>(N, D, D, dp, wt, dxs + q, {D, 1, D, width}, false);  // dQ = dP W1^T
                detail::transpose(D, D, f.params + w2, D, wt);
                gemm<T>(N, D, D, dr, wt, dxs + k, {D, 1, D, width}, false);  // dK = dR W2^T
            }
        };
        f.for_samples(work);
    }

private:
    // y = B V with B = softmax_j(v . tanh(P_i + R_j)): pm holds P and R (2 N x D) and the scores
    // (N x N), att receives B, the tanh row of (i, j) goes to th + (i * N + j) * th_step.
    static void one_sample(T const* p, T const* xs, T* ys, T* pm, T* att, T* th, std::size_t th_step) {
        T* rm = pm + N * D;  // K W2
        T* e = rm + N * D;   // scores
        for (std::size_t i = 0; i < N; ++i) detail::copy(D, p + b, pm + i * D);
        gemm<T>(N, D, D, xs + q, p + w1, pm, {width, 1, D, D}, true);
        gemm<T>(N, D, D, xs + k, p + w2, rm, {width, 1, D, D}, false);
        for (std::size_t i = 0; i < N; ++i)
            for (std::size_t j = 0; j < N; ++j)
                e[i * N + j] = detail::tanh_sum_dot(D, pm + i * D, rm + j * D, p + vv, th + (i * N + j) * th_step);
        for (std::size_t i = 0; i < N; ++i) detail::softmax(N, e + i * N, att + i * N);
        gemm<T>(N, Cv, N, att, xs + v, ys, {N, 1, width, Cv}, false);
    }

    // dT_ij = dE_ij v (1 - tanh_ij^2);  dP_i = sum_j dT_ij,  dR_j = sum_i dT_ij.
    static void score_backward(T const* sv, T const* de, T const* th, T* dp, T* dr) {
        using batch = detail::simd_batch<T>;
        constexpr std::size_t V = batch::size, full = D - D % V;
        detail::fill(N * D, T(0), dr);
        for (std::size_t i = 0; i < N; ++i) {
            for (std::size_t c = 0; c < full; c += V) {
                batch const vc = batch::load_unaligned(sv + c);
                batch acc(T(0));
                for (std::size_t j = 0; j < N; ++j) {
                    batch const tv = batch::load_unaligned(th + (i * N + j) * D + c);
                    batch const dt = batch(de[i * N + j]) * vc * (batch(T(1)) - tv * tv);
                    acc += dt;
                    (batch::load_unaligned(dr + j * D + c) + dt).store_unaligned(dr + j * D + c);
                }
                acc.store_unaligned(dp + i * D + c);
            }
            for (std::size_t c = full; c < D; ++c) {
                T acc = 0;
                for (std::size_t j = 0; j < N; ++j) {
                    T const tv = th[(i * N + j) * D + c];
                    T const dt = de[i * N + j] * sv[c] * (T(1) - tv * tv);
                    acc += dt;
                    dr[j * D + c] += dt;
                }
                dp[i * D + c] = acc;
            }
        }
    }
};

struct additive_attention {
    template <Shape In, class T>
    using bind = additive_attention_layer<In, T>;
};

}  // namespace mien
