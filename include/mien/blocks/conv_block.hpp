// mien/blocks/conv_block.hpp -- convolution -> batch norm -> ReLU -> 2x2 max-pool, predicted
// two rows at a time.
//
// conv_block<F, K> is sequential<conv2d<F, K, same>, batch_norm, relu, max_pool<2>> (the
// paper's normal block): the same layers, parameters, costs, training and weights files. Only
// prediction differs: the full-resolution convolution output never exists whole. For each
// pooled output row it borders the K + 1 input rows it needs, convolves them into two rows of
// F channels, normalises them in place, applies the ReLU in place and pools them into the
// output row. The layers doing it are the block's own, bound to those row shapes, so every
// value is computed by the same code in the same order as the unfused pass (the tests compare
// bit for bit). For the paper's first block this is 13.5 KB of scratch instead of 300 KB
// (the 48x48x32 map and its bordered input), and the arena's peak moves elsewhere.
#pragma once

#include <cstddef>

#include "../core/layer.hpp"
#include "../core/sequential.hpp"
#include "../core/vector_ops.hpp"
#include "../layers/batch_norm.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/max_pool.hpp"
#include "../layers/relu.hpp"

namespace mien {

template <Shape In, class T, std::size_t F, std::size_t K>
struct conv_block_layer
    : sequential_layer<In, T, typename detail::chain<In, T, conv2d<F, K, same>, batch_norm, relu, max_pool<2>>::layers> {
    using base = sequential_layer<In, T, typename detail::chain<In, T, conv2d<F, K, same>, batch_norm, relu, max_pool<2>>::layers>;
    using conv = typename base::template layer<0>;
    using output_shape = typename base::output_shape;
    static constexpr std::size_t pad = conv::pad, W = In::width, Cin = In::channels, Wp = W + 2 * pad;
    static constexpr std::size_t PH = output_shape::height, PW = output_shape::width;

    // The layers bound to row shapes: K + 1 bordered input rows -> 2 convolved rows -> 1 pooled row.
    using input_rows = shape<K + 1, Wp, Cin>;
    using rows = shape<2, W, F>;
    using row_conv = conv2d_layer<input_rows, T, F, K, padding::valid, 1, false, detail::conv2d_name>;
    using row_norm = batch_norm_layer<rows, T>;
    using row_relu = relu_layer<rows, T>;
    using row_pool = max_pool_layer<rows, T, 2, 2>;
    static_assert(row_conv::output_shape::size == rows::size && row_pool::output_shape::size == PW * F);

    static constexpr std::size_t rows_at = arena_round<T>(input_rows::size);
    static constexpr std::size_t norm_at = rows_at + arena_round<T>(rows::size);
    static constexpr std::size_t conv_at = norm_at + arena_round<T>(mien::infer_size<row_norm>);
    static constexpr std::size_t infer_size = conv_at + mien::infer_size<row_conv>;
    static constexpr bool in_place = false;

    static void infer(frame<T> const& f, T const* x, T* y, T* scratch) {
        T* in = scratch;
        T* out = scratch + rows_at;
        frame<T> const fc = base::child(f, 0), fn = base::child(f, 1), fr = base::child(f, 2), fp = base::child(f, 3);
        for (std::size_t py = 0; py < PH; ++py) {
            for (std::size_t i = 0; i <= K; ++i) {  // bordered rows 2 py .. 2 py + K
                std::ptrdiff_t const iy = std::ptrdiff_t(2 * py + i) - std::ptrdiff_t(pad);
                T* row = in + i * Wp * Cin;
                if (iy < 0 || iy >= std::ptrdiff_t(In::height)) {
                    detail::fill(Wp * Cin, T(0), row);
                } else {
                    detail::fill(pad * Cin, T(0), row);
                    detail::copy(W * Cin, x + std::size_t(iy) * W * Cin, row + pad * Cin);
                    detail::fill(pad * Cin, T(0), row + (pad + W) * Cin);
                }
            }
            mien::infer<row_conv>(fc, static_cast<T const*>(in), out, scratch + conv_at);
            mien::infer<row_norm>(fn, static_cast<T const*>(out), out, scratch + norm_at);
            mien::infer<row_relu>(fr, static_cast<T const*>(out), out, scratch + conv_at);
            mien::infer<row_pool>(fp, static_cast<T const*>(out), y + py * PW * F, scratch + conv_at);
        }
    }
};

// conv_block<Filters, Kernel = 3>: the paper's normal block as one spec.
template <std::size_t Filters, std::size_t Kernel = 3>
struct conv_block {
    template <Shape In, class T>
    using bind = conv_block_layer<In, T, Filters, Kernel>;
};

}  // namespace mien
