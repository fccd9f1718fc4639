// tests/support/tiny_training.hpp -- a small network and a generated data set for tests of the
// training loop (mien/train/epoch.hpp, distill.hpp): cheap enough to train for a few epochs
// inside a unit test.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>

#include <mien/data/dataset.hpp>
#include <mien/mien.hpp>

#include "shapes_dataset.hpp"

namespace mien::testing {

// 48x48 -> 24x24x8 -> 12x12x8 -> 12x12x16 -> 16 -> 7 classes.
using tiny_net = network<input<48, 48, 1>, conv2d<8, 3, same, 2>, relu, max_pool<2>, conv2d<16, 3>, relu, global_avg_pool,
                         dense<7>>;

// The generated shapes (shapes_dataset.hpp) as a mien::dataset (8-bit pixels, like a loaded one).
inline dataset shapes_as_dataset(std::size_t count, std::uint64_t seed) {
    shape_set const set = make_shape_set(count, seed);
    dataset d;
    d.side = int(shape_side);
    std::vector<std::uint8_t> face(shape_pixels);
    for (std::size_t i = 0; i < set.size(); ++i) {
        for (std::size_t k = 0; k < shape_pixels; ++k) face[k] = std::uint8_t(std::lround(set.images[i * shape_pixels + k] * 255.0f));
        d.add(face.data(), set.labels[i], "shape" + std::to_string(i));
    }
    return d;
}

}  // namespace mien::testing
