// expect: static assertion failed: conv2d: the stride must be at least 1
#include <mien/core/network.hpp>
#include <mien/layers/conv2d.hpp>

#ifdef MIEN_COMPILE_FAIL
constexpr std::size_t stride = 0;
#else
constexpr std::size_t stride = 1;
#endif

using net = mien::network<mien::input<8, 8, 1>, mien::conv2d<8, 3, mien::same, stride>>;

int main() { return net::outputs == 8 * 8 * 8 ? 0 : 1; }
