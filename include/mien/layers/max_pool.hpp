// mien/layers/max_pool.hpp -- the largest value of each PxP window, per channel.
//
// Shapes: HxWxC -> OHxOWxC with OH = (H - P) / S + 1 (valid windows; S defaults to P).
// No parameters; macs = 0. Backward routes dy to the first position in each window that holds
// the maximum, found again by comparison with the saved output (nothing extra is stored).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "../core/layer.hpp"
#include "../core/simd.hpp"
#include "../core/vector_ops.hpp"

namespace mien {

template <Shape In, class T, std::size_t P, std::size_t S>
struct max_pool_layer
    : parameterless_layer<In, T, shape<conv_output_extent(In::height, P, 0, S), conv_output_extent(In::width, P, 0, S), In::channels>> {
    static_assert(P > 0, "max_pool: the window must be at least 1");
    static_assert(S > 0, "max_pool: the stride must be at least 1");
    static_assert(P <= In::height, "max_pool: window taller than the input");
    static_assert(P <= In::width, "max_pool: window wider than the input");
    static constexpr std::size_t C = In::channels;
    using output_shape = typename max_pool_layer::output_shape;
    static constexpr std::string_view name = "max_pool";
    static constexpr std::array<double, 2> settings{double(P), double(S)};  // window, stride

    static std::size_t at(std::size_t y, std::size_t x) { return (y * In::width + x) * C; }

    // Samples are independent: each thread pools its own slice of the batch.
    static void forward(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t s = begin; s < end; ++s) forward_one(x + s * In::size, y + s * output_shape::size);
        };
        f.for_samples(work);
    }

    static void backward(frame<T> const& f, T const* x, T const* y, T const* dy, T* dx) {
        if (!dx) return;
        auto work = [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t s = begin; s < end; ++s)
                backward_one(x + s * In::size, y + s * output_shape::size, dy + s * output_shape::size, dx + s * In::size);
        };
        f.for_samples(work);
    }

private:
    using batch = detail::simd_batch<T>;
    static constexpr std::size_t V = batch::size;
    static constexpr std::size_t full = C - C % V;  // channels done in whole registers

    static void forward_one(T const* xs, T* ys) {
        for (std::size_t oy = 0; oy < output_shape::height; ++oy)
            for (std::size_t ox = 0; ox < output_shape::width; ++ox) {
                T* out = ys + (oy * output_shape::width + ox) * C;
                T const* first = xs + at(oy * S, ox * S);
                // m = in > m ? in : m over the window, in scan order (as the scalar tail below).
                for (std::size_t c = 0; c < full; c += V) {
                    batch m = batch::load_unaligned(first + c);
                    for (std::size_t ky = 0; ky < P; ++ky)
                        for (std::size_t kx = 0; kx < P; ++kx) {
                            batch const in = batch::load_unaligned(xs + at(oy * S + ky, ox * S + kx) + c);
                            m = detail::select(in > m, in, m);
                        }
                    m.store_unaligned(out + c);
                }
                for (std::size_t c = full; c < C; ++c) {
                    T m = first[c];
                    for (std::size_t ky = 0; ky < P; ++ky)
                        for (std::size_t kx = 0; kx < P; ++kx) {
                            T const in = xs[at(oy * S + ky, ox * S + kx) + c];
                            m = in > m ? in : m;
                        }
                    out[c] = m;
                }
            }
    }

    // dy goes to the first window position (scan order) whose value equals the output.
    static void backward_one(T const* xs, T const* ys, T const* dys, T* dxs) {
        detail::fill(In::size, T(0), dxs);
        for (std::size_t oy = 0; oy < output_shape::height; ++oy)
            for (std::size_t ox = 0; ox < output_shape::width; ++ox) {
                std::size_t const o = (oy * output_shape::width + ox) * C;
                for (std::size_t c = 0; c < full; c += V) {
                    batch const m = batch::load_unaligned(ys + o + c), g = batch::load_unaligned(dys + o + c);
                    typename batch::batch_bool_type routed(false);
                    for (std::size_t ky = 0; ky < P; ++ky)
                        for (std::size_t kx = 0; kx < P; ++kx) {
                            std::size_t const i = at(oy * S + ky, ox * S + kx) + c;
                            auto const hit = (batch::load_unaligned(xs + i) == m) & ~routed;
                            (batch::load_unaligned(dxs + i) + detail::select(hit, g, batch(T(0)))).store_unaligned(dxs + i);
                            routed = routed | hit;
                        }
                }
                for (std::size_t c = full; c < C; ++c) {
                    bool routed = false;
                    for (std::size_t ky = 0; ky < P && !routed; ++ky)
                        for (std::size_t kx = 0; kx < P && !routed; ++kx) {
                            std::size_t const i = at(oy * S + ky, ox * S + kx) + c;
                            if (xs[i] == ys[o + c]) {
                                dxs[i] += dys[o + c];
                                routed = true;
                            }
                        }
                }
            }
    }
};

// max_pool<Window, Stride = Window>
template <std::size_t Window, std::size_t Stride = Window>
struct max_pool {
    template <Shape In, class T>
    using bind = max_pool_layer<In, T, Window, Stride>;
};

}  // namespace mien
