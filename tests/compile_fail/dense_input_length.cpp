// expect: dense_layer<mien::shape<1, 1, 64>, float, 10, 100, .*static assertion failed: dense: input length differs from the declared input length
//
// dense<10, 100> declares 100 inputs; the network gives it 64. (g++ prints both numbers in the
// instantiation context, `dense_layer<shape<1, 1, 64>, float, 10, 100, ...>`.)
#include <mien/core/network.hpp>
#include <mien/layers/dense.hpp>

#ifdef MIEN_COMPILE_FAIL
constexpr std::size_t inputs = 64;
#else
constexpr std::size_t inputs = 100;
#endif

using net = mien::network<mien::flat<inputs>, mien::dense<10, 100>>;

int main() { return net::params == 100 * 10 + 10 ? 0 : 1; }
