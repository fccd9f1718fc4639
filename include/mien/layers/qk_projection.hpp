// mien/layers/qk_projection.hpp -- the two projections that feed both attentions.
//
// Reads the HxWxC map row-major as N = H*W tokens X (N x C) and produces, per token,
//   [ Q = X Wq + bq  (Dq) | Kt = X Wk + bk  (Dk) | V = X  (C) ]
// as a qkv_shape<H, W, Dq, Dk, C>, which the attention layers split again. The widths travel
// in the type, so an attention fed projections of different widths does not compile.
// Parameters Wq [C][Dq], bq [Dq], Wk [C][Dk], bk [Dk]. macs = N * C * (Dq + Dk).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "../core/gemm.hpp"
#include "../core/layer.hpp"
#include "../core/vector_ops.hpp"

namespace mien {

template <Shape In, class T, std::size_t Dq, std::size_t Dk>
struct qk_projection_layer : leaf_layer {
    static_assert(Dq > 0, "qk_projection: the query width must be at least 1");
    static_assert(Dk > 0, "qk_projection: the key width must be at least 1");
    static constexpr std::size_t N = In::pixels, C = In::channels, width = Dq + Dk + C;
    using input_shape = In;
    using output_shape = qkv_shape<In::height, In::width, Dq, Dk, C>;
    using scalar = T;
    static constexpr std::string_view name = "qk_projection";
    static constexpr std::size_t wq = 0, bq = C * Dq, wk = bq + Dq, bk = wk + C * Dk;
    static constexpr std::size_t params = bk + Dk;
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = N * C * (Dq + Dk);
    static constexpr std::size_t saved_per_sample = 0;
    static constexpr std::size_t temp_size = C * (Dq > Dk ? Dq : Dk);
    static constexpr std::size_t forward_temp_size = 0;
    static constexpr std::array<double, 2> settings{double(Dq), double(Dk)};

    static void init(T* p, T*, random_generator& rng) {
        double const lq = std::sqrt(6.0 / double(C + Dq)), lk = std::sqrt(6.0 / double(C + Dk));
        for (std::size_t i = 0; i < C * Dq; ++i) p[wq + i] = T(rng.uniform(-lq, lq));
        for (std::size_t i = 0; i < C * Dk; ++i) p[wk + i] = T(rng.uniform(-lk, lk));
        detail::fill(Dq, T(0), p + bq);
        detail::fill(Dk, T(0), p + bk);
    }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
        v(detail::tensor(name, "query_weight", wq, {C, Dq}));
        v(detail::tensor(name, "query_bias", bq, {Dq}));
        v(detail::tensor(name, "key_weight", wk, {C, Dk}));
        v(detail::tensor(name, "key_bias", bk, {Dk}));
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        for (std::size_t s = 0; s < f.n; ++s) {
            T const* xs = x + s * In::size;
            T* ys = y + s * output_shape::size;
            for (std::size_t t = 0; t < N; ++t) {
                T* row = ys + t * width;
                detail::copy(Dq, f.params + bq, row);
                detail::copy(Dk, f.params + bk, row + Dq);
                detail::copy(C, xs + t * C, row + Dq + Dk);
            }
            gemm<T>(N, Dq, C, xs, f.params + wq, ys, {C, 1, Dq, width}, true);
            gemm<T>(N, Dk, C, xs, f.params + wk, ys + Dq, {C, 1, Dk, width}, true);
        }
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        for (std::size_t s = 0; s < f.n; ++s) {
            T const* xs = x + s * In::size;
            T const* dys = dy + s * output_shape::size;
            gemm<T>(C, Dq, N, xs, dys, f.grads + wq, {1, C, width, Dq}, true);       // dWq += X^T dQ
            gemm<T>(C, Dk, N, xs, dys + Dq, f.grads + wk, {1, C, width, Dk}, true);  // dWk += X^T dK
            for (std::size_t t = 0; t < N; ++t) {
                detail::add_to(Dq, dys + t * width, f.grads + bq);
                detail::add_to(Dk, dys + t * width + Dq, f.grads + bk);
            }
        }
        if (!dx) return;
        T* wt = f.temp_of(0);
        for (std::size_t s = 0; s < f.n; ++s)  // dX = dV, then + dQ Wq^T + dK Wk^T
            for (std::size_t t = 0; t < N; ++t) detail::copy(C, dy + s * output_shape::size + t * width + Dq + Dk, dx + s * In::size + t * C);
        detail::transpose(C, Dq, f.params + wq, Dq, wt);
        for (std::size_t s = 0; s < f.n; ++s)
            gemm<T>(N, C, Dq, dy + s * output_shape::size, wt, dx + s * In::size, {width, 1, C, C}, true);
        detail::transpose(C, Dk, f.params + wk, Dk, wt);
        for (std::size_t s = 0; s < f.n; ++s)
            gemm<T>(N, C, Dk, dy + s * output_shape::size + Dq, wt, dx + s * In::size, {width, 1, C, C}, true);
    }
};

// qk_projection<QueryWidth, KeyWidth = QueryWidth>
template <std::size_t Dq, std::size_t Dk = Dq>
struct qk_projection {
    template <Shape In, class T>
    using bind = qk_projection_layer<In, T, Dq, Dk>;
};

}  // namespace mien
