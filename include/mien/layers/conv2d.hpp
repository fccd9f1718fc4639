// mien/layers/conv2d.hpp -- normal 2-D convolution, and pointwise (1x1) convolution.
//
//   y[oy][ox][co] = b[co] + sum_{ky,kx,ci} x[oy*S + ky - P][ox*S + kx - P][ci] * w[ky][kx][ci][co]
//
// Shapes: HxWxCin -> OHxOWxF with OH = (H - K + 2P) / S + 1 (the paper's equation 1);
// P = (K - 1) / 2 for `same`, 0 for `valid`. Weights are stored [K][K][Cin][F] (as Keras/TF).
// macs = OH * OW * K * K * Cin * F: every tap counts, padded ones included.
// Template parameters: Filters, Kernel, padding, Stride, Bias (false: no bias vector).
//
// Computed as im2col + gemm per sample: the patch matrix (OH*OW x K*K*Cin) times the weights
// (K*K*Cin x F). Backward: dW += col^T dY, dcol = dY W^T, then col2im scatters dcol into dx.
#pragma once

#include <cmath>
#include <cstddef>
#include <string_view>

#include "../core/gemm.hpp"
#include "../core/layer.hpp"
#include "../core/vector_ops.hpp"

namespace mien {

enum class padding { same, valid };
inline constexpr padding same = padding::same;
inline constexpr padding valid = padding::valid;
inline constexpr bool with_bias = true;

namespace detail {
struct conv2d_name { static constexpr std::string_view value = "conv2d"; };
struct pointwise_name { static constexpr std::string_view value = "pointwise"; };

// He-uniform initialisation: keeps the activation variance steady through ReLU layers.
template <class T>
inline void he_uniform(T* w, std::size_t count, std::size_t fan_in, random_generator& rng) {
    double const limit = std::sqrt(6.0 / static_cast<double>(fan_in));
    for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>(rng.uniform(-limit, limit));
}
}  // namespace detail

template <Shape In, class T, std::size_t F, std::size_t K, padding Pad, std::size_t S, bool Bias, class Name>
struct conv2d_layer : leaf_layer {
    static_assert(F > 0, "conv2d: the number of filters must be at least 1");
    static_assert(K > 0, "conv2d: the kernel size must be at least 1");
    static_assert(S > 0, "conv2d: the stride must be at least 1");
    static_assert(Pad == padding::valid || K % 2 == 1, "conv2d: same padding needs an odd kernel size");
    static constexpr std::size_t pad = Pad == padding::same ? (K - 1) / 2 : 0;
    static_assert(K <= In::height + 2 * pad, "conv2d: kernel taller than the padded input");
    static_assert(K <= In::width + 2 * pad, "conv2d: kernel wider than the padded input");

    using input_shape = In;
    using output_shape = shape<conv_output_extent(In::height, K, pad, S), conv_output_extent(In::width, K, pad, S), F>;
    using scalar = T;
    static constexpr std::string_view name = Name::value;

    static constexpr std::size_t Cin = In::channels;
    static constexpr std::size_t patch = K * K * Cin;           // one row of the patch matrix
    static constexpr std::size_t P = output_shape::pixels;      // rows of the patch matrix
    static constexpr bool direct = K == 1 && S == 1 && pad == 0;  // x is already the patch matrix
    static constexpr std::size_t weights = patch * F;
    static constexpr std::size_t params = weights + (Bias ? F : 0);
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = P * patch * F;
    static constexpr std::size_t saved_per_sample = 0;
    static constexpr std::size_t temp_size = (direct ? 0 : 2 * P * patch) + weights;

    static void init(T* p, T*, random_generator& rng) {
        detail::he_uniform(p, weights, patch, rng);
        if constexpr (Bias) detail::fill<T>(F, T(0), p + weights);
    }

    template <class V>
    static void for_each_tensor(V&& v) {
        v(detail::tensor(name, "weight", 0, {K, K, Cin, F}));
        if constexpr (Bias) v(detail::tensor(name, "bias", weights, {F}));
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* col = f.temp_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T* ys = y + s * output_shape::size;
                T const* a = xs;
                if constexpr (!direct) {
                    im2col(xs, col);
                    a = col;
                }
                if constexpr (Bias)
                    for (std::size_t p = 0; p < P; ++p) detail::copy(F, f.params + weights, ys + p * F);
                gemm<T>(P, F, patch, a, f.params, ys, {patch, 1, F, F}, Bias);
            }
        };
        f.for_samples(work);
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* col = f.temp_of(t);
            T* dcol = direct ? nullptr : col + P * patch;
            T* wt = direct ? col : dcol + P * patch;  // W^T, F x patch
            T* g = f.grads_of(t);
            if (dx) detail::transpose(patch, F, f.params, F, wt);
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T const* dys = dy + s * output_shape::size;
                T const* a = xs;
                if constexpr (!direct) {
                    im2col(xs, col);
                    a = col;
                }
                gemm<T>(patch, F, P, a, dys, g, {1, patch, F, F}, true);  // dW += col^T dY
                if constexpr (Bias)
                    for (std::size_t p = 0; p < P; ++p) detail::add_to(F, dys + p * F, g + weights);
                if (!dx) continue;
                T* dxs = dx + s * In::size;
                if constexpr (direct) {
                    gemm<T>(P, Cin, F, dys, wt, dxs, {F, 1, Cin, Cin}, false);
                } else {
                    gemm<T>(P, patch, F, dys, wt, dcol, {F, 1, patch, patch}, false);
                    col2im(dcol, dxs);
                }
            }
        };
        f.for_samples(work);
    }

    // Patch matrix of one sample: row (oy, ox), column (ky, kx, ci); zeros where padded.
    static void im2col(T const* x, T* col) {
        for (std::size_t oy = 0; oy < output_shape::height; ++oy)
            for (std::size_t ox = 0; ox < output_shape::width; ++ox) {
                T* row = col + (oy * output_shape::width + ox) * patch;
                for (std::size_t ky = 0; ky < K; ++ky) {
                    std::ptrdiff_t const iy = std::ptrdiff_t(oy * S + ky) - std::ptrdiff_t(pad);
                    for (std::size_t kx = 0; kx < K; ++kx) {
                        std::ptrdiff_t const ix = std::ptrdiff_t(ox * S + kx) - std::ptrdiff_t(pad);
                        T* dst = row + (ky * K + kx) * Cin;
                        if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(In::height) || ix >= std::ptrdiff_t(In::width))
                            detail::fill(Cin, T(0), dst);
                        else
                            detail::copy(Cin, x + (std::size_t(iy) * In::width + std::size_t(ix)) * Cin, dst);
                    }
                }
            }
    }

    // The adjoint of im2col: adds every patch entry back onto the input pixel it came from.
    static void col2im(T const* col, T* dx) {
        detail::fill(In::size, T(0), dx);
        for (std::size_t oy = 0; oy < output_shape::height; ++oy)
            for (std::size_t ox = 0; ox < output_shape::width; ++ox) {
                T const* row = col + (oy * output_shape::width + ox) * patch;
                for (std::size_t ky = 0; ky < K; ++ky) {
                    std::ptrdiff_t const iy = std::ptrdiff_t(oy * S + ky) - std::ptrdiff_t(pad);
                    if (iy < 0 || iy >= std::ptrdiff_t(In::height)) continue;
                    for (std::size_t kx = 0; kx < K; ++kx) {
                        std::ptrdiff_t const ix = std::ptrdiff_t(ox * S + kx) - std::ptrdiff_t(pad);
                        if (ix < 0 || ix >= std::ptrdiff_t(In::width)) continue;
                        detail::add_to(Cin, row + (ky * K + kx) * Cin,
                                       dx + (std::size_t(iy) * In::width + std::size_t(ix)) * Cin);
                    }
                }
            }
    }
};

// conv2d<Filters, Kernel, padding = same, Stride = 1, Bias = false>
template <std::size_t Filters, std::size_t Kernel, padding Pad = same, std::size_t Stride = 1, bool Bias = false>
struct conv2d {
    template <Shape In, class T>
    using bind = conv2d_layer<In, T, Filters, Kernel, Pad, Stride, Bias, detail::conv2d_name>;
};

// pointwise<Filters>: a 1x1 convolution, the second half of a separable convolution.
template <std::size_t Filters, bool Bias = false>
struct pointwise {
    template <Shape In, class T>
    using bind = conv2d_layer<In, T, Filters, 1, valid, 1, Bias, detail::pointwise_name>;
};

}  // namespace mien
