// mien/core/shape.hpp -- tensor shapes as types.
//
// A shape<H, W, C> is an empty literal type whose extents are compile-time constants. Layers
// map their input shape to their output shape with it, and storage is sized from `size`.
// Data is laid out height-major, channels last (HWC): element (y, x, c) sits at
// (y * W + x) * C + c, so the channel loop is the contiguous, vectorised one.
#pragma once

#include <cstddef>
#include <type_traits>

namespace mien {

template <std::size_t H, std::size_t W, std::size_t C>
struct shape {
    static constexpr std::size_t height = H;
    static constexpr std::size_t width = W;
    static constexpr std::size_t channels = C;
    static constexpr std::size_t pixels = H * W;
    static constexpr std::size_t size = H * W * C;

    template <std::size_t H2, std::size_t W2, std::size_t C2>
    constexpr bool operator==(shape<H2, W2, C2>) const {
        return H == H2 && W == W2 && C == C2;
    }
};

// The input shape of a network: `input<48, 48, 1>` reads as "a 48x48 grayscale image".
template <std::size_t H, std::size_t W, std::size_t C>
using input = shape<H, W, C>;

// A flat vector (what dense layers produce) is a 1x1xN shape.
template <std::size_t N>
using flat = shape<1, 1, N>;

// Tokens for attention: N = H*W rows of width `channels`, plus the widths of the query and key
// projections that precede the values in each row: [ Q (query_width) | K (key_width) | V ].
// Only qk_projection produces this shape; the attention layers require it.
template <std::size_t H, std::size_t W, std::size_t Dq, std::size_t Dk, std::size_t Cv>
struct qkv_shape : shape<H, W, Dq + Dk + Cv> {
    static constexpr std::size_t query_width = Dq;
    static constexpr std::size_t key_width = Dk;
    static constexpr std::size_t value_width = Cv;
};

namespace detail {
template <class T>
struct is_shape : std::false_type {};
template <std::size_t H, std::size_t W, std::size_t C>
struct is_shape<shape<H, W, C>> : std::true_type {};
template <std::size_t H, std::size_t W, std::size_t Dq, std::size_t Dk, std::size_t Cv>
struct is_shape<qkv_shape<H, W, Dq, Dk, Cv>> : std::true_type {};

template <class T>
struct is_qkv_shape : std::false_type {};
template <std::size_t H, std::size_t W, std::size_t Dq, std::size_t Dk, std::size_t Cv>
struct is_qkv_shape<qkv_shape<H, W, Dq, Dk, Cv>> : std::true_type {};
}  // namespace detail

template <class T>
concept Shape = detail::is_shape<T>::value;

// The plain shape with the same extents (drops the attention split of a qkv_shape).
template <Shape S>
using plain_shape = shape<S::height, S::width, S::channels>;

// The paper's equation (1): output extent of a window of size K, stride S, padding P per side.
constexpr std::size_t conv_output_extent(std::size_t in, std::size_t k, std::size_t pad, std::size_t stride) {
    return (in + 2 * pad - k) / stride + 1;
}

}  // namespace mien
