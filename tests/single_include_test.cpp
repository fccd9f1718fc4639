// Built with only single_include/ on the include path: the generated header is complete.
// The paper's cost arithmetic (ARCHITECTURE.md) as compile-time tests, then one prediction.
#include <mien/mien.hpp>

#include "consumer/predict_once.hpp"

#ifndef MIEN_SINGLE_INCLUDE
#error "expected the generated single header, found include/mien/mien.hpp"
#endif

using image = mien::input<12, 12, 3>;

// A normal 5x5 valid convolution to 256 channels: 8x8x256 outputs, 8*8*5*5*3*256 MACs.
using normal = mien::bind<mien::conv2d<256, 5, mien::valid>, image, float>;
static_assert(normal::output_shape{} == mien::shape<8, 8, 256>{});
static_assert(normal::macs == 1'228'800);

// The separable one: depthwise 8*8*5*5*3 = 4,800 plus pointwise 8*8*3*256 = 49,152.
using separable = mien::bind<mien::separable_conv2d<256, 5, mien::valid>, image, float>;
static_assert(separable::output_shape{} == mien::shape<8, 8, 256>{});
static_assert(separable::macs == 53'952);

static_assert(mien::models::paper<>::params == 175'495);
static_assert(mien::models::paper<>::macs == 25'373'056);

int main() { return predict_once<mien::models::paper<>>("single header"); }
