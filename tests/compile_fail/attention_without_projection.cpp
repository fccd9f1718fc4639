// expect: static assertion failed: dot_product_attention: input must be the query/key/value tokens of a qk_projection
//
// The attention layers read [Q | K | V] rows; a plain feature map has no such split.
#include <mien/core/network.hpp>
#include <mien/layers/dot_product_attention.hpp>
#include <mien/layers/qk_projection.hpp>
#include <mien/layers/relu.hpp>

#ifdef MIEN_COMPILE_FAIL
using projection = mien::relu;
#else
using projection = mien::qk_projection<8>;
#endif

using net = mien::network<mien::input<6, 6, 8>, projection, mien::dot_product_attention>;

int main() { return net::outputs == 6 * 6 * 8 ? 0 : 1; }
