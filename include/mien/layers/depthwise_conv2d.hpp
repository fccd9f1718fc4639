// mien/layers/depthwise_conv2d.hpp -- one KxK filter per channel (the first half of a
// separable convolution).
//
//   y[oy][ox][c] = sum_{ky,kx} x[oy*S + ky - P][ox*S + kx - P][c] * w[ky][kx][c]
//
// Shapes: HxWxC -> OHxOWxC, OH = (H - K + 2P) / S + 1. Weights [K][K][C], no bias.
// macs = OH * OW * K * K * C (the paper's 3 * 5 * 5 * 8 * 8 = 4,800 for its example).
// The channel loop is innermost and contiguous, so each tap is one vectorised multiply-add.
#pragma once

#include <cstddef>
#include <string_view>

#include "conv2d.hpp"

namespace mien {

template <Shape In, class T, std::size_t K, padding Pad, std::size_t S>
struct depthwise_conv2d_layer : leaf_layer {
    static_assert(K > 0, "depthwise_conv2d: the kernel size must be at least 1");
    static_assert(S > 0, "depthwise_conv2d: the stride must be at least 1");
    static_assert(Pad == padding::valid || K % 2 == 1, "depthwise_conv2d: same padding needs an odd kernel size");
    static constexpr std::size_t pad = Pad == padding::same ? (K - 1) / 2 : 0;
    static_assert(K <= In::height + 2 * pad, "depthwise_conv2d: kernel taller than the padded input");
    static_assert(K <= In::width + 2 * pad, "depthwise_conv2d: kernel wider than the padded input");

    static constexpr std::size_t C = In::channels;
    using input_shape = In;
    using output_shape = shape<conv_output_extent(In::height, K, pad, S), conv_output_extent(In::width, K, pad, S), C>;
    using scalar = T;
    static constexpr std::string_view name = "depthwise_conv2d";
    static constexpr std::size_t params = K * K * C;
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = output_shape::pixels * K * K * C;
    static constexpr std::size_t saved_per_sample = 0;
    static constexpr std::size_t temp_size = 0;

    static void init(T* p, T*, random_generator& rng) { detail::he_uniform(p, params, K * K, rng); }

    template <class V>
    static void for_each_tensor(V&& v) {
        v(detail::tensor(name, "weight", 0, {K, K, C}));
    }

    // Calls tap(input pixel offset, weight offset, output pixel offset) for every in-bounds tap.
    template <class Tap>
    static void for_each_tap(Tap&& tap) {
        for (std::size_t oy = 0; oy < output_shape::height; ++oy)
            for (std::size_t ox = 0; ox < output_shape::width; ++ox) {
                std::size_t const o = (oy * output_shape::width + ox) * C;
                for (std::size_t ky = 0; ky < K; ++ky) {
                    std::ptrdiff_t const iy = std::ptrdiff_t(oy * S + ky) - std::ptrdiff_t(pad);
                    if (iy < 0 || iy >= std::ptrdiff_t(In::height)) continue;
                    for (std::size_t kx = 0; kx < K; ++kx) {
                        std::ptrdiff_t const ix = std::ptrdiff_t(ox * S + kx) - std::ptrdiff_t(pad);
                        if (ix < 0 || ix >= std::ptrdiff_t(In::width)) continue;
                        tap((std::size_t(iy) * In::width + std::size_t(ix)) * C, (ky * K + kx) * C, o);
                    }
                }
            }
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T* ys = y + s * output_shape::size;
                detail::fill(output_shape::size, T(0), ys);
                for_each_tap([&](std::size_t i, std::size_t w, std::size_t o) {
                    detail::multiply_add(C, xs + i, f.params + w, ys + o);
                });
            }
        };
        f.for_samples(work);
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* g = f.grads_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T const* dys = dy + s * output_shape::size;
                T* dxs = dx ? dx + s * In::size : nullptr;
                if (dxs) detail::fill(In::size, T(0), dxs);
                for_each_tap([&](std::size_t i, std::size_t w, std::size_t o) {
                    detail::multiply_add(C, xs + i, dys + o, g + w);
                    if (dxs) detail::multiply_add(C, f.params + w, dys + o, dxs + i);
                });
            }
        };
        f.for_samples(work);
    }
};

// depthwise_conv2d<Kernel, padding = same, Stride = 1>
template <std::size_t Kernel, padding Pad = same, std::size_t Stride = 1>
struct depthwise_conv2d {
    template <Shape In, class T>
    using bind = depthwise_conv2d_layer<In, T, Kernel, Pad, Stride>;
};

}  // namespace mien
