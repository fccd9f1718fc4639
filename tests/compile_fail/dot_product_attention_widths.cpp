// expect: static assertion failed: dot_product_attention: query width != key width.*64 == 32
//
// Dot-product scores need queries and keys of the same width.
#include <mien/core/network.hpp>
#include <mien/layers/dot_product_attention.hpp>
#include <mien/layers/qk_projection.hpp>

#ifdef MIEN_COMPILE_FAIL
constexpr std::size_t key_width = 32;
#else
constexpr std::size_t key_width = 64;
#endif

using net = mien::network<mien::input<6, 6, 8>, mien::qk_projection<64, key_width>, mien::dot_product_attention>;

int main() { return net::outputs == 6 * 6 * 8 ? 0 : 1; }
