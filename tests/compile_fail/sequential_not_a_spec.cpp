// expect: sequential_child<2, int.*sequential: this layer is not a layer spec
//
// The third layer (position 2) is `int`, not a layer spec: the message says what is wrong and
// g++ names the position and the type in the instantiation of sequential_child.
#include <mien/core/network.hpp>
#include <mien/layers/dense.hpp>
#include <mien/layers/relu.hpp>

#ifdef MIEN_COMPILE_FAIL
using third = int;
#else
using third = mien::relu;
#endif

using net = mien::network<mien::input<1, 1, 4>, mien::dense<8>, mien::relu, third, mien::dense<2>>;

int main() { return net::params == 4 * 8 + 8 + 8 * 2 + 2 ? 0 : 1; }
