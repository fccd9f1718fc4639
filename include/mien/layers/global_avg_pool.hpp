// mien/layers/global_avg_pool.hpp -- the mean of each channel over all pixels (tokens).
//
// Shapes: HxWxC -> 1x1xC. No parameters; macs = 0 (a mean is not a multiply-accumulate in
// the cost model). After the attentions it is the "mean over tokens" of ARCHITECTURE.md.
#pragma once

#include <cstddef>
#include <string_view>

#include "../core/layer.hpp"
#include "../core/vector_ops.hpp"

namespace mien {

template <Shape In, class T>
struct global_avg_pool_layer : parameterless_layer<In, T, flat<In::channels>> {
    static constexpr std::size_t C = In::channels;
    static constexpr std::string_view name = "global_avg_pool";

    static void forward(frame<T> const& f, T const* x, T* y) {
        T const scale = T(1) / T(In::pixels);
        for (std::size_t s = 0; s < f.n; ++s) {
            T* ys = y + s * C;
            detail::fill(C, T(0), ys);
            for (std::size_t p = 0; p < In::pixels; ++p) detail::add_to(C, x + s * In::size + p * C, ys);
            for (std::size_t c = 0; c < C; ++c) ys[c] *= scale;
        }
    }

    static void backward(frame<T> const& f, T const*, T const*, T const* dy, T* dx) {
        if (!dx) return;
        T const scale = T(1) / T(In::pixels);
        for (std::size_t s = 0; s < f.n; ++s)
            for (std::size_t p = 0; p < In::pixels; ++p)
                for (std::size_t c = 0; c < C; ++c) dx[s * In::size + p * C + c] = dy[s * C + c] * scale;
    }
};

struct global_avg_pool {
    template <Shape In, class T>
    using bind = global_avg_pool_layer<In, T>;
};

}  // namespace mien
