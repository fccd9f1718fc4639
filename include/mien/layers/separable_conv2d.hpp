// mien/layers/separable_conv2d.hpp -- depthwise KxK then pointwise 1x1 (Xception's separable
// convolution, the paper's Figure 2 and 3).
//
// Shapes: HxWxC -> OHxOWxF. macs = OH*OW*K*K*C (depthwise) + OH*OW*C*F (pointwise); for the
// paper's example, 12x12x3 -> 8x8x256 with K = 5 valid: 4,800 + 49,152 = 53,952.
// It is a two-layer sequential, so the cost table lists both halves.
#pragma once

#include <cstddef>

#include "../blocks/sequential.hpp"
#include "conv2d.hpp"
#include "depthwise_conv2d.hpp"

namespace mien {

// separable_conv2d<Filters, Kernel, padding = same, Stride = 1>
template <std::size_t Filters, std::size_t Kernel, padding Pad = same, std::size_t Stride = 1>
struct separable_conv2d {
    template <Shape In, class T>
    using bind = mien::bind<sequential<depthwise_conv2d<Kernel, Pad, Stride>, pointwise<Filters>>, In, T>;
};

}  // namespace mien
