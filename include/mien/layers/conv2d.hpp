// mien/layers/conv2d.hpp -- normal 2-D convolution, and pointwise (1x1) convolution.
//
//   y[oy][ox][co] = b[co] + sum_{ky,kx,ci} x[oy*S + ky - P][ox*S + kx - P][ci] * w[ky][kx][ci][co]
//
// Shapes: HxWxCin -> OHxOWxF with OH = (H - K + 2P) / S + 1 (the paper's equation 1);
// P = (K - 1) / 2 for `same`, 0 for `valid`. Weights are stored [K][K][Cin][F] (as Keras/TF).
// macs = OH * OW * K * K * Cin * F: every tap counts, padded ones included.
// Template parameters: Filters, Kernel, padding, Stride, Bias (false: no bias vector).
//
// Stride 1 (the paper's convolutions) runs without a patch matrix: the input is copied into a
// zero-bordered (H+2P)x(W+2P)xCin buffer, and for each output row one gemm_strided call reads
// the patch row of pixel (oy, ox) straight from it: for kernel row ky, the K*Cin values from
// (oy+ky, ox) on are contiguous (detail::gemm_loop: K runs, Wp*Cin apart). Backward:
// dW[ky] += (the same rows)^T dY, one call per ky; dx is the same correlation applied to dY
// (bordered with K-1-P zeros) and the weights flipped in space, [K-1-ky][K-1-kx][F][Cin].
// Other strides use im2col + gemm per sample: the patch matrix (OH*OW x K*K*Cin) times the
// weights (K*K*Cin x F); backward dW += col^T dY, dcol = dY W^T, col2im scatters dcol into dx.
#pragma once

#include <array>
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

// dst ((Hs+2B) x (Ws+2B) x C) = src (Hs x Ws x C) with a border of B zeros: the input of a
// convolution without bounds checks.
template <std::size_t Hs, std::size_t Ws, std::size_t C, std::size_t B, class T>
inline void border(T const* src, T* dst) {
    constexpr std::size_t Wd = Ws + 2 * B;
    fill(B * Wd * C, T(0), dst);
    for (std::size_t r = 0; r < Hs; ++r) {
        T* row = dst + (r + B) * Wd * C;
        fill(B * C, T(0), row);
        copy(Ws * C, src + r * Ws * C, row + B * C);
        fill(B * C, T(0), row + (B + Ws) * C);
    }
    fill(B * Wd * C, T(0), dst + (Hs + B) * Wd * C);
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
    static constexpr bool implicit = !direct && S == 1;              // no patch matrix (see above)
    static constexpr std::size_t weights = patch * F;
    static constexpr std::size_t params = weights + (Bias ? F : 0);
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = P * patch * F;
    static constexpr std::size_t saved_per_sample = 0;
    // Implicit path: the bordered input, the bordered dY (Hq x Wq x F) and the flipped weights.
    static constexpr std::size_t Hp = In::height + 2 * pad, Wp = In::width + 2 * pad;
    static constexpr std::size_t dpad = K - 1 - pad;
    static constexpr std::size_t Hq = output_shape::height + 2 * dpad, Wq = output_shape::width + 2 * dpad;
    static constexpr std::size_t temp_size =
        direct ? weights : implicit ? (pad ? Hp * Wp * Cin : 0) + Hq * Wq * F + weights : 2 * P * patch + weights;
    // Forward needs only the first part: the bordered input, or the patch matrix.
    static constexpr std::size_t forward_temp_size = direct ? 0 : implicit ? (pad ? Hp * Wp * Cin : 0) : P * patch;
    static constexpr std::array<double, 5> settings{double(F), double(K), double(pad), double(S), double(Bias)};

    static void init(T* p, T*, random_generator& rng) {
        detail::he_uniform(p, weights, patch, rng);
        if constexpr (Bias) detail::fill<T>(F, T(0), p + weights);
    }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
        v(detail::tensor(name, "weight", 0, {K, K, Cin, F}));
        if constexpr (Bias) v(detail::tensor(name, "bias", weights, {F}));
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        if constexpr (implicit) return forward_implicit(f, x, y);
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
        if constexpr (implicit) return backward_implicit(f, x, dy, dx);
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

    // ---- stride 1 without a patch matrix -----------------------------------------------------

    // y (OH x OW x Co) (+)= the correlation of xp (a bordered map Wx pixels wide, Ci channels)
    // with w [K][K][Ci][Co]: per output row, k runs over ky (K runs) x (kx, ci) (K*Ci contiguous).
    template <std::size_t OH, std::size_t OW, std::size_t Wx, std::size_t Ci, std::size_t Co>
    static void correlate(T const* xp, T const* w, T* y, bool accumulate) {
        detail::gemm_loop const loop{K, K * Ci, Wx * Ci, K * Ci * Co};
        for (std::size_t oy = 0; oy < OH; ++oy)
            detail::gemm_strided<T>(OW, Co, loop, xp + oy * Wx * Ci, w, y + oy * OW * Co, {Ci, 1, Co, Co}, accumulate);
    }

    // The bordered input of one sample (x itself when there is no padding).
    static T const* bordered_input(T const* xs, T* buffer) {
        if constexpr (pad == 0) return xs;
        detail::border<In::height, In::width, Cin, pad>(xs, buffer);
        return buffer;
    }

    static void forward_implicit(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* xp = f.temp_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                T* ys = y + s * output_shape::size;
                if constexpr (Bias)
                    for (std::size_t p = 0; p < P; ++p) detail::copy(F, f.params + weights, ys + p * F);
                correlate<output_shape::height, output_shape::width, Wp, Cin, F>(bordered_input(x + s * In::size, xp),
                                                                                f.params, ys, Bias);
            }
        };
        f.for_samples(work);
    }

    static void backward_implicit(frame<T> const& f, T const* x, T const* dy, T* dx) {
        constexpr std::size_t OH = output_shape::height, OW = output_shape::width;
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* xp = f.temp_of(t);
            T* dyq = xp + (pad ? Hp * Wp * Cin : 0);  // dY with a border of K-1-P zeros
            T* wf = dyq + Hq * Wq * F;                 // flipped weights [K-1-ky][K-1-kx][F][Cin]
            T* g = f.grads_of(t);
            if (dx)
                for (std::size_t tap = 0; tap < K * K; ++tap)
                    detail::transpose(Cin, F, f.params + (K * K - 1 - tap) * Cin * F, F, wf + tap * F * Cin);
            // dW[ky] (rows kx, ci) += sum over output pixels of xp[oy+ky][ox+kx][ci] * dY[oy][ox]
            detail::gemm_loop const rows{OH, OW, Wp * Cin, OW * F};
            for (std::size_t s = begin; s < end; ++s) {
                T const* xps = bordered_input(x + s * In::size, xp);
                T const* dys = dy + s * output_shape::size;
                for (std::size_t ky = 0; ky < K; ++ky)
                    detail::gemm_strided<T>(K * Cin, F, rows, xps + ky * Wp * Cin, dys, g + ky * K * Cin * F,
                                            {1, Cin, F, F}, true);
                if constexpr (Bias)
                    for (std::size_t p = 0; p < P; ++p) detail::add_to(F, dys + p * F, g + weights);
                if (!dx) continue;
                detail::border<OH, OW, F, dpad>(dys, dyq);
                correlate<In::height, In::width, Wq, F, Cin>(dyq, wf, dx + s * In::size, false);
            }
        };
        f.for_samples(work);
    }

    // ---- other strides: im2col + gemm ------------------------------------------------------

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
