// expect: static assertion failed: conv2d: the number of filters must be at least 1
#include <mien/core/network.hpp>
#include <mien/layers/conv2d.hpp>

#ifdef MIEN_COMPILE_FAIL
constexpr std::size_t filters = 0;
#else
constexpr std::size_t filters = 1;
#endif

using net = mien::network<mien::input<8, 8, 1>, mien::conv2d<filters, 3>>;

int main() { return net::outputs == 8 * 8 * filters ? 0 : 1; }
