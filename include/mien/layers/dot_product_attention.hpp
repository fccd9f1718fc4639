// mien/layers/dot_product_attention.hpp -- normal (multiplicative) attention.
//
//   S = Q Kt^T / sqrt(D),  A = softmax_rows(S),  O = A V
// Input: the qkv_shape<H, W, D, D, Cv> of a qk_projection (N = H*W tokens); output HxWxCv
// (one attended value row per token). No parameters of its own (the projections are shared
// with additive attention). macs = N*N*D (scores) + N*N*Cv (A V); the scale and softmax are
// not multiply-accumulates. Saves A (N x N per sample) for backward.
#pragma once

#include <cmath>
#include <cstddef>
#include <string_view>

#include "../core/gemm.hpp"
#include "../core/layer.hpp"
#include "../core/softmax.hpp"
#include "../core/vector_ops.hpp"

namespace mien {

template <Shape In, class T>
struct dot_product_attention_layer : parameterless_layer<In, T, shape<In::height, In::width, In::value_width>> {
    static_assert(detail::is_qkv_shape<In>::value,
                  "dot_product_attention: input must be the query/key/value tokens of a qk_projection");
    static_assert(In::query_width == In::key_width, "dot_product_attention: query width != key width");
    static constexpr std::size_t N = In::pixels, D = In::query_width, Cv = In::value_width, width = In::channels;
    static constexpr std::size_t q = 0, k = D, v = 2 * D;
    using output_shape = typename dot_product_attention_layer::output_shape;
    static constexpr std::string_view name = "dot_product_attention";
    static constexpr std::size_t macs = N * N * D + N * N * Cv;
    static constexpr std::size_t saved_per_sample = N * N;
    static constexpr std::size_t temp_size = 2 * N * N + (D > Cv ? D : Cv) * N;
    static constexpr std::size_t forward_temp_size = D * N + N * N;  // K^T and the scores

    // Samples are independent: each thread takes a slice, with its own scratch.
    static void forward(frame<T> const& f, T const* x, T* y) {
        T const scale = T(1.0 / std::sqrt(double(D)));
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* kt = f.temp_of(t);
            T* scores = kt + D * N;
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T* att = f.saved + s * N * N;
                detail::transpose(N, D, xs + k, width, kt);
                gemm<T>(N, N, D, xs + q, kt, scores, {width, 1, N, N}, false);
                for (std::size_t i = 0; i < N * N; ++i) scores[i] *= scale;
                for (std::size_t i = 0; i < N; ++i) detail::softmax(N, scores + i * N, att + i * N);
                gemm<T>(N, Cv, N, att, xs + v, y + s * output_shape::size, {N, 1, width, Cv}, false);
            }
        };
        f.for_samples(work);
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        if (!dx) return;  // no parameters: only the input gradient matters
        T const scale = T(1.0 / std::sqrt(double(D)));
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* vt = f.temp_of(t);
            T* datt = vt + (D > Cv ? D : Cv) * N;
            T* dscore = datt + N * N;
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T const* dys = dy + s * output_shape::size;
                T const* att = f.saved + s * N * N;
                T* dxs = dx + s * In::size;
                detail::transpose(N, Cv, xs + v, width, vt);
                gemm<T>(N, N, Cv, dys, vt, datt, {Cv, 1, N, N}, false);                // dA = dO V^T
                gemm<T>(N, Cv, N, att, dys, dxs + v, {1, N, Cv, width}, false);        // dV = A^T dO
                for (std::size_t i = 0; i < N; ++i) detail::softmax_backward(N, att + i * N, datt + i * N, dscore + i * N);
                for (std::size_t i = 0; i < N * N; ++i) dscore[i] *= scale;
                gemm<T>(N, D, N, dscore, xs + k, dxs + q, {N, 1, width, width}, false);  // dQ = dS K
                gemm<T>(N, D, N, dscore, xs + q, dxs + k, {1, N, width, width}, false);  // dK = dS^T Q
            }
        };
        f.for_samples(work);
    }
};

struct dot_product_attention {
    template <Shape In, class T>
    using bind = dot_product_attention_layer<In, T>;
};

}  // namespace mien
