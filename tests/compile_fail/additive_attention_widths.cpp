// expect: static assertion failed: additive_attention: query width != key width.*64 == 32
//
// Additive attention adds the projected query to the projected key: their widths must agree.
#include <mien/core/network.hpp>
#include <mien/layers/additive_attention.hpp>
#include <mien/layers/qk_projection.hpp>

#ifdef MIEN_COMPILE_FAIL
constexpr std::size_t key_width = 32;
#else
constexpr std::size_t key_width = 64;
#endif

using net = mien::network<mien::input<6, 6, 8>, mien::qk_projection<64, key_width>, mien::additive_attention>;

int main() { return net::params > 0 ? 0 : 1; }
