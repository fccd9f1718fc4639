// mien/layers/dense.hpp -- fully connected layer on the flattened input.
//
//   y[o] = b[o] + sum_i x[i] * w[i][o]
//
// Shapes: any HxWxC (read as a vector of N = H*W*C values) -> 1x1xOut. Weights [N][Out], bias
// [Out]. macs = N * Out. Template parameters: Out, ExpectedIn (0: accept any length; otherwise
// the input length must equal it, which catches a network wired to the wrong width), Bias.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "../core/gemm.hpp"
#include "../core/layer.hpp"
#include "../core/vector_ops.hpp"

namespace mien {

template <Shape In, class T, std::size_t Out, std::size_t ExpectedIn, bool Bias>
struct dense_layer : leaf_layer {
    static constexpr std::size_t N = In::size;
    static_assert(Out > 0, "dense: the number of outputs must be at least 1");
    // Written as one comparison so that g++ prints both lengths.
    static_assert(N == (ExpectedIn == 0 ? N : ExpectedIn), "dense: input length differs from the declared input length");
    using input_shape = In;
    using output_shape = flat<Out>;
    using scalar = T;
    static constexpr std::string_view name = "dense";
    static constexpr std::size_t weights = N * Out;
    static constexpr std::size_t params = weights + (Bias ? Out : 0);
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = N * Out;
    static constexpr std::size_t saved_per_sample = 0;
    static constexpr std::size_t temp_size = weights;  // W^T for the input gradient
    static constexpr std::size_t forward_temp_size = 0;
    static constexpr std::array<double, 2> settings{double(Out), double(Bias)};

    // Glorot-uniform, as Keras does for Dense.
    static void init(T* p, T*, random_generator& rng) {
        double const limit = std::sqrt(6.0 / double(N + Out));
        for (std::size_t i = 0; i < weights; ++i) p[i] = T(rng.uniform(-limit, limit));
        if constexpr (Bias) detail::fill(Out, T(0), p + weights);
    }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
        v(detail::tensor(name, "weight", 0, {N, Out}));
        if constexpr (Bias) v(detail::tensor(name, "bias", weights, {Out}));
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        if constexpr (Bias)
            for (std::size_t s = 0; s < f.n; ++s) detail::copy(Out, f.params + weights, y + s * Out);
        gemm<T>(f.n, Out, N, x, f.params, y, {N, 1, Out, Out}, Bias);
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        gemm<T>(N, Out, f.n, x, dy, f.grads, {1, N, Out, Out}, true);  // dW += X^T dY
        if constexpr (Bias)
            for (std::size_t s = 0; s < f.n; ++s) detail::add_to(Out, dy + s * Out, f.grads + weights);
        if (!dx) return;
        T* wt = f.temp_of(0);
        detail::transpose(N, Out, f.params, Out, wt);
        gemm<T>(f.n, N, Out, dy, wt, dx, {Out, 1, N, N}, false);  // dX = dY W^T
    }
};

// dense<Out, ExpectedIn = 0 (any), Bias = true>
template <std::size_t Out, std::size_t ExpectedIn = 0, bool Bias = true>
struct dense {
    template <Shape In, class T>
    using bind = dense_layer<In, T, Out, ExpectedIn, Bias>;
};

}  // namespace mien
