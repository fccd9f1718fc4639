// mien/layers/depthwise_conv2d.hpp -- one KxK filter per channel (the first half of a
// separable convolution).
//
//   y[oy][ox][c] = sum_{ky,kx} x[oy*S + ky - P][ox*S + kx - P][c] * w[ky][kx][c]
//
// Shapes: HxWxC -> OHxOWxC, OH = (H - K + 2P) / S + 1. Weights [K][K][C], no bias.
// macs = OH * OW * K * K * C (the paper's 3 * 5 * 5 * 8 * 8 = 4,800 for its example).
// The channel loop is innermost and contiguous, so each tap is one vectorised multiply-add.
// The input is copied into a zero-bordered buffer first (no bounds checks); for each register of
// channels the K*K weights stay in registers while the output pixels run. Backward: dW by K*K
// accumulators per register of channels; for stride 1, dx is the same correlation of dY
// (bordered with K-1-P zeros) with the flipped weights, other strides scatter tap by tap.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "../core/simd.hpp"
#include "../core/vector_ops.hpp"
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
    static constexpr std::size_t OH = output_shape::height, OW = output_shape::width;
    static constexpr std::size_t Hp = In::height + 2 * pad, Wp = In::width + 2 * pad;  // bordered input
    static constexpr std::size_t dpad = K - 1 - pad;                                    // border of dY
    static constexpr std::size_t Hq = OH + 2 * dpad, Wq = OW + 2 * dpad;
    // bordered x, then (stride 1) bordered dY and the flipped weights
    static constexpr std::size_t temp_size = Hp * Wp * C + (S == 1 ? Hq * Wq * C + K * K * C : 0);
    static constexpr std::size_t forward_temp_size = Hp * Wp * C;  // the bordered x only
    // Prediction borders K input rows at a time, not the whole map (21,632 values for the
    // paper's 24x24x32 map, more than its output): the same sums in the same order.
    static constexpr std::size_t infer_size = K * Wp * C;
    static constexpr std::array<double, 3> settings{double(K), double(pad), double(S)};

    static void init(T* p, T*, random_generator& rng) { detail::he_uniform(p, params, K * K, rng); }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
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
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* xp = f.temp_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                detail::border<In::height, In::width, C, pad>(x + s * In::size, xp);
                correlate<OH, OW, Wp, S>(xp, f.params, y + s * output_shape::size);
            }
        };
        f.for_samples(work);
    }

    static void infer(frame<T> const& f, T const* x, T* y, T* rows) {
        for (std::size_t oy = 0; oy < OH; ++oy) {
            for (std::size_t ky = 0; ky < K; ++ky) {
                std::ptrdiff_t const iy = std::ptrdiff_t(oy * S + ky) - std::ptrdiff_t(pad);
                T* row = rows + ky * Wp * C;
                if (iy < 0 || iy >= std::ptrdiff_t(In::height)) {
                    detail::fill(Wp * C, T(0), row);
                } else {
                    detail::fill(pad * C, T(0), row);
                    detail::copy(In::width * C, x + std::size_t(iy) * In::width * C, row + pad * C);
                    detail::fill((Wp - pad - In::width) * C, T(0), row + (pad + In::width) * C);
                }
            }
            correlate<1, OW, Wp, S>(rows, f.params, y + oy * OW * C);
        }
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* xp = f.temp_of(t);
            T* dyq = xp + Hp * Wp * C;
            T* wf = dyq + Hq * Wq * C;  // [K-1-ky][K-1-kx][C]
            T* g = f.grads_of(t);
            if constexpr (S == 1)
                if (dx)
                    for (std::size_t tap = 0; tap < K * K; ++tap) detail::copy(C, f.params + (K * K - 1 - tap) * C, wf + tap * C);
            for (std::size_t s = begin; s < end; ++s) {
                T const* dys = dy + s * output_shape::size;
                detail::border<In::height, In::width, C, pad>(x + s * In::size, xp);
                weight_gradient(xp, dys, g);
                if (!dx) continue;
                T* dxs = dx + s * In::size;
                if constexpr (S == 1) {
                    detail::border<OH, OW, C, dpad>(dys, dyq);
                    correlate<In::height, In::width, Wq, 1>(dyq, wf, dxs);
                } else {
                    detail::fill(In::size, T(0), dxs);
                    for_each_tap([&](std::size_t i, std::size_t w, std::size_t o) {
                        detail::multiply_add(C, f.params + w, dys + o, dxs + i);
                    });
                }
            }
        };
        f.for_samples(work);
    }

private:
    using batch = detail::simd_batch<T>;
    static constexpr std::size_t V = batch::size;
    static constexpr std::size_t full = C - C % V;  // channels done in whole registers

    // One register of channels (B = batch) or one channel (B = T).
    static batch load(batch, T const* p) { return batch::load_unaligned(p); }
    static T load(T, T const* p) { return *p; }
    static void store(batch v, T* p) { v.store_unaligned(p); }
    static void store(T v, T* p) { *p = v; }
    static batch madd(batch a, batch b, batch c) { return detail::fma(a, b, c); }
    static T madd(T a, T b, T c) { return c + a * b; }

    // y (Ho x Wo x C) = sum_{ky,kx} xp[oy*St + ky][ox*St + kx] * w[ky][kx], xp Wx pixels wide.
    template <std::size_t Ho, std::size_t Wo, std::size_t Wx, std::size_t St>
    static void correlate(T const* xp, T const* w, T* y) {
        auto channels = [&](std::size_t c, auto tag) {
            using B = decltype(tag);
            B wv[K * K];
            for (std::size_t t = 0; t < K * K; ++t) wv[t] = load(tag, w + t * C + c);
            for (std::size_t oy = 0; oy < Ho; ++oy)
                for (std::size_t ox = 0; ox < Wo; ++ox) {
                    T const* in = xp + ((oy * St) * Wx + ox * St) * C + c;
                    B acc(T(0));
                    for (std::size_t ky = 0; ky < K; ++ky)
                        for (std::size_t kx = 0; kx < K; ++kx) acc = madd(load(tag, in + (ky * Wx + kx) * C), wv[ky * K + kx], acc);
                    store(acc, y + (oy * Wo + ox) * C + c);
                }
        };
        for (std::size_t c = 0; c < full; c += V) channels(c, batch());
        for (std::size_t c = full; c < C; ++c) channels(c, T());
    }

    // g[ky][kx] += sum over output pixels of xp[oy*S + ky][ox*S + kx] * dy[oy][ox]
    static void weight_gradient(T const* xp, T const* dys, T* g) {
        auto channels = [&](std::size_t c, auto tag) {
            using B = decltype(tag);
            B acc[K * K];
            for (std::size_t t = 0; t < K * K; ++t) acc[t] = B(T(0));
            for (std::size_t oy = 0; oy < OH; ++oy)
                for (std::size_t ox = 0; ox < OW; ++ox) {
                    T const* in = xp + ((oy * S) * Wp + ox * S) * C + c;
                    B const d = load(tag, dys + (oy * OW + ox) * C + c);
                    for (std::size_t ky = 0; ky < K; ++ky)
                        for (std::size_t kx = 0; kx < K; ++kx)
                            acc[ky * K + kx] = madd(load(tag, in + (ky * Wp + kx) * C), d, acc[ky * K + kx]);
                }
            for (std::size_t t = 0; t < K * K; ++t) store(load(tag, g + t * C + c) + acc[t], g + t * C + c);
        };
        for (std::size_t c = 0; c < full; c += V) channels(c, batch());
        for (std::size_t c = full; c < C; ++c) channels(c, T());
    }
};

// depthwise_conv2d<Kernel, padding = same, Stride = 1>
template <std::size_t Kernel, padding Pad = same, std::size_t Stride = 1>
struct depthwise_conv2d {
    template <Shape In, class T>
    using bind = depthwise_conv2d_layer<In, T, Kernel, Pad, Stride>;
};

}  // namespace mien
