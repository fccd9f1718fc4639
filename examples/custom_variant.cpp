// custom_variant -- your own network in a few lines: the paper's blocks, other widths, one
// stage more, checked by the compiler.
//
// Build: part of the examples (cmake --build build --target custom_variant).
#include <cstdio>
#include <memory>
#include <vector>

#include <mien/mien.hpp>

// Four stages instead of three (64x64 input -> 4x4), wider attention, a bigger classifier.
using my_net = mien::network<mien::input<64, 64, 1>,                                  //
                             mien::normal_block<24>, mien::separable_block<24>,     // 32x32
                             mien::normal_block<48>, mien::separable_block<48>,     // 16x16
                             mien::normal_block<96>, mien::separable_block<96>,     // 8x8
                             mien::normal_block<128>, mien::separable_block<128>,   // 4x4
                             mien::attention_merge<96>,                              // 2 x 128
                             mien::classifier<160, 7>>;

// Everything about it is known before it runs.
static_assert(my_net::output_shape == mien::shape<1, 1, 7>{});
static_assert(my_net::macs < mien::models::paper<>::macs * 2, "stay within twice the paper's cost");

int main() {
    my_net::print_cost_table();
    auto net = std::make_unique<my_net>();  // ~ parameters + batch-1 workspace, no further allocation
    net->init(42);
    std::vector<float> face(my_net::inputs, 0.5f);
    auto const& p = net->predict(face);
    std::printf("probabilities of an untrained net on a grey square:");
    for (float v : p) std::printf(" %.3f", v);
    std::printf("\n");
}
