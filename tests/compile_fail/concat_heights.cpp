// expect: static assertion failed: concat: branch output heights differ
//
// Branches joined along channels must keep the same height and width: here one halves them.
#include <mien/blocks/concat.hpp>
#include <mien/core/network.hpp>
#include <mien/layers/conv2d.hpp>
#include <mien/layers/max_pool.hpp>
#include <mien/layers/relu.hpp>

#ifdef MIEN_COMPILE_FAIL
using second = mien::max_pool<2>;
#else
using second = mien::relu;
#endif

using net = mien::network<mien::input<8, 8, 3>, mien::concat<mien::conv2d<4, 3>, second>>;

int main() { return net::outputs == 8 * 8 * 7 ? 0 : 1; }
