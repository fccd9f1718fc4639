// expect: static assertion failed: residual: branch output channels != shortcut channels.*16 == 8
//
// An identity shortcut cannot add an 8-channel input to a 16-channel branch.
#include <mien/blocks/residual.hpp>
#include <mien/core/network.hpp>
#include <mien/layers/conv2d.hpp>

#ifdef MIEN_COMPILE_FAIL
constexpr std::size_t channels = 8;
#else
constexpr std::size_t channels = 16;
#endif

using net = mien::network<mien::input<8, 8, channels>, mien::residual<mien::conv2d<16, 3>>>;

int main() { return net::params == 16 * 3 * 3 * channels ? 0 : 1; }
