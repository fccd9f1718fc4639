// mien/layers/relu.hpp -- y = max(x, 0), element-wise.
//
// Shape unchanged; no parameters; macs = 0. Backward passes dy where the output is positive,
// so nothing needs saving beyond the output the caller keeps anyway.
#pragma once

#include <cstddef>
#include <string_view>

#include "../core/layer.hpp"
#include "../core/simd.hpp"

namespace mien {

template <Shape In, class T>
struct relu_layer : parameterless_layer<In, T> {
    static constexpr std::string_view name = "relu";
    static constexpr bool in_place = true;  // element-wise: each value is read before it is written

    // Element-wise, so each thread takes the values of its slice of samples.
    static void forward(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t) {
            std::size_t i = begin * In::size;
            std::size_t const n = end * In::size, full = n - (n - i) % batch::size;
            for (; i < full; i += batch::size) {
                batch const v = batch::load_unaligned(x + i);
                detail::select(v > zero(), v, zero()).store_unaligned(y + i);
            }
            for (; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
        };
        f.for_samples(work);
    }

    static void backward(frame<T> const& f, T const*, T const* y, T const* dy, T* dx) {
        if (!dx) return;
        auto work = [&](std::size_t begin, std::size_t end, std::size_t) {
            std::size_t i = begin * In::size;
            std::size_t const n = end * In::size, full = n - (n - i) % batch::size;
            for (; i < full; i += batch::size)
                detail::select(batch::load_unaligned(y + i) > zero(), batch::load_unaligned(dy + i), zero()).store_unaligned(dx + i);
            for (; i < n; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
        };
        f.for_samples(work);
    }

private:
    using batch = detail::simd_batch<T>;
    static batch zero() { return batch(T(0)); }
};

struct relu {
    template <Shape In, class T>
    using bind = relu_layer<In, T>;
};

}  // namespace mien
