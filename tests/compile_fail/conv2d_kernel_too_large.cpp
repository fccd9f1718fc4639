// expect: static assertion failed: conv2d: kernel taller than the padded input.*5 <= 4
//
// A 5x5 valid convolution does not fit in a 4x4 image.
#include <mien/core/network.hpp>
#include <mien/layers/conv2d.hpp>

#ifdef MIEN_COMPILE_FAIL
constexpr std::size_t side = 4;
#else
constexpr std::size_t side = 5;
#endif

using net = mien::network<mien::input<side, side, 1>, mien::conv2d<8, 5, mien::valid>>;

int main() { return net::outputs == (side - 4) * (side - 4) * 8 ? 0 : 1; }
