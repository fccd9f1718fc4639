// shape: extents as compile-time constants, the paper's equation (1), the attention token shape.
#include <mien/core/shape.hpp>

#include <doctest/doctest.h>

#include <type_traits>

using namespace mien;

using face = input<48, 48, 1>;
static_assert(face::height == 48 && face::width == 48 && face::channels == 1);
static_assert(face::pixels == 2304 && face::size == 2304);
static_assert(shape<6, 6, 128>::size == 4608 && shape<3, 5, 7>::pixels == 15);
static_assert(std::is_same_v<flat<7>, shape<1, 1, 7>>);
static_assert(std::is_empty_v<shape<2, 3, 4>>);

// Equality compares the extents, not the spelling.
static_assert(shape<2, 3, 4>{} == input<2, 3, 4>{});
static_assert(!(shape<2, 3, 4>{} == shape<3, 2, 4>{}));
static_assert(!(shape<2, 3, 4>{} == shape<2, 3, 5>{}));

// Equation (1): (in + 2P - K) / S + 1.
static_assert(conv_output_extent(12, 5, 0, 1) == 8);   // the paper's 12x12 -> 8x8, 5x5 valid
static_assert(conv_output_extent(48, 3, 1, 1) == 48);  // same padding
static_assert(conv_output_extent(48, 2, 0, 2) == 24);  // 2x2 pool
static_assert(conv_output_extent(7, 3, 1, 2) == 4);
static_assert(conv_output_extent(7, 2, 0, 2) == 3);    // odd: the last row is dropped
static_assert(conv_output_extent(5, 3, 0, 2) == 2);

// Attention tokens: [Q | K | V] per pixel.
using tokens = qkv_shape<6, 6, 64, 32, 128>;
static_assert(tokens::query_width == 64 && tokens::key_width == 32 && tokens::value_width == 128);
static_assert(tokens::channels == 224 && tokens::pixels == 36 && tokens::size == 36 * 224);
static_assert(std::is_same_v<plain_shape<tokens>, shape<6, 6, 224>>);
static_assert(std::is_same_v<plain_shape<face>, face>);

// The Shape concept accepts exactly the shapes.
static_assert(Shape<face> && Shape<tokens> && Shape<flat<3>>);
static_assert(!Shape<int> && !Shape<std::integral_constant<int, 3>>);
struct looks_like_a_shape {
    static constexpr std::size_t height = 1, width = 1, channels = 1, size = 1, pixels = 1;
};
static_assert(!Shape<looks_like_a_shape>);
static_assert(detail::is_qkv_shape<tokens>::value && !detail::is_qkv_shape<face>::value);

TEST_CASE("shape: extents are usable at run time too") {
    constexpr face f{};
    std::size_t const size = f.size;  // odr-use of the constants
    CHECK(size == 48 * 48);
    CHECK(conv_output_extent(size, 4, 0, 4) == 576);
}
