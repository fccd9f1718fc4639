// tests/support/shapes_dataset.hpp -- a learnable 7-class set of 48x48 grayscale images,
// generated from a seed with mien::random_generator (no files, same images on every platform).
//
// Class k is one bright figure on a noisy dark background, at a random position and size:
//   0 filled square   1 filled disc      2 horizontal bars   3 vertical bars
//   4 plus sign       5 ring             6 filled triangle
// Brightness, background level and noise vary per image, so no single pixel or the mean
// intensity gives the class away: a network has to see the shape.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <mien/core/random.hpp>

namespace mien::testing {

inline constexpr std::size_t shape_side = 48, shape_pixels = shape_side * shape_side, shape_classes = 7;

// Draws one image of class `label` into out[0, 2304), values in [0, 1].
inline void draw_shape(std::size_t label, random_generator& rng, float* out) {
    double const r = rng.uniform(7, 13);  // half-size of the figure
    double const cy = rng.uniform(r + 1, double(shape_side) - r - 1), cx = rng.uniform(r + 1, double(shape_side) - r - 1);
    double const fg = rng.uniform(0.6, 1.0), bg = rng.uniform(0.0, 0.25), noise = rng.uniform(0.02, 0.08);
    for (std::size_t y = 0; y < shape_side; ++y)
        for (std::size_t x = 0; x < shape_side; ++x) {
            double const dy = double(y) + 0.5 - cy, dx = double(x) + 0.5 - cx;
            double const ay = std::abs(dy), ax = std::abs(dx), d = std::sqrt(dy * dy + dx * dx);
            bool const in_box = ay <= r && ax <= r;
            bool on = false;
            switch (label) {
                case 0: on = in_box; break;
                case 1: on = d <= r; break;
                case 2: on = in_box && int(std::floor((dy + r) / 3)) % 2 == 0; break;
                case 3: on = in_box && int(std::floor((dx + r) / 3)) % 2 == 0; break;
                case 4: on = (ay <= r && ax <= r / 4) || (ax <= r && ay <= r / 4); break;
                case 5: on = d <= r && d >= 0.6 * r; break;
                default: on = dy <= r && dy >= -r && ax <= (dy + r) / 2; break;  // apex up, base down
            }
            double const v = (on ? fg : bg) + noise * rng.normal();
            out[y * shape_side + x] = float(std::clamp(v, 0.0, 1.0));
        }
}

struct shape_set {
    std::vector<float> images;          // size() x 2304, HWC (one channel)
    std::vector<std::int32_t> labels;   // size(), balanced: sample i has label i % 7

    std::size_t size() const { return labels.size(); }
    std::span<float const> image(std::size_t i) const {
        return std::span<float const>(images).subspan(i * shape_pixels, shape_pixels);
    }
};

inline shape_set make_shape_set(std::size_t count, std::uint64_t seed) {
    random_generator rng(seed);
    shape_set set;
    set.images.resize(count * shape_pixels);
    set.labels.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
        set.labels[i] = std::int32_t(i % shape_classes);
        draw_shape(i % shape_classes, rng, set.images.data() + i * shape_pixels);
    }
    return set;
}

// Copies samples order[first, first + n) of `set` into one contiguous batch.
inline void gather_batch(shape_set const& set, std::span<std::size_t const> order, std::size_t first, std::size_t n,
                         std::vector<float>& images, std::vector<std::int32_t>& labels) {
    images.resize(n * shape_pixels);
    labels.resize(n);
    for (std::size_t s = 0; s < n; ++s) {
        std::size_t const i = order[first + s];
        std::copy_n(set.images.begin() + std::ptrdiff_t(i * shape_pixels), shape_pixels,
                    images.begin() + std::ptrdiff_t(s * shape_pixels));
        labels[s] = set.labels[i];
    }
}

}  // namespace mien::testing
