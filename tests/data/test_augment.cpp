// data/augment.hpp: the augmentation of training faces is reproducible from its seed, does
// nothing when switched off, and random erasing replaces one rectangle of the face, drawing
// nothing from the generator when it is off (runs without it keep their weights bit for bit).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include <mien/core/random.hpp>
#include <mien/data/augment.hpp>

namespace {

constexpr int side = 48;

// A face-like test image: a smooth gradient with some structure, values inside (0, 1).
std::vector<float> picture() {
    std::vector<float> v(side * side);
    for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x) v[std::size_t(y * side + x)] = 0.1f + 0.8f * float((x * 7 + y * 3) % 97) / 97.0f;
    return v;
}

std::vector<float> augmented(mien::augment_options const& o, std::uint64_t seed, std::uint64_t* next = nullptr) {
    auto const in = picture();
    std::vector<float> out(in.size());
    mien::random_generator rng(seed);
    mien::augment(in.data(), out.data(), side, o, rng);
    if (next) *next = rng.next();
    return out;
}

}  // namespace

TEST_CASE("augment: none() gives the face back; a seed gives the same copy every time") {
    CHECK(augmented(mien::augment_options::none(), 1) == picture());
    mien::augment_options const o;
    CHECK(augmented(o, 7) == augmented(o, 7));
    CHECK(augmented(o, 7) != augmented(o, 8));
    auto const copy = augmented(o, 9);
    CHECK(std::all_of(copy.begin(), copy.end(), [](float v) { return v >= 0.0f && v <= 1.0f; }));
}

TEST_CASE("augment: a flip alone mirrors the face") {
    mien::augment_options o = mien::augment_options::none();
    o.flip = true;
    auto const in = picture();
    std::vector<float> mirrored(in.size());
    mien::mirror(in.data(), mirrored.data(), side);
    int flipped = 0, kept = 0;
    for (std::uint64_t seed = 0; seed < 64; ++seed) {
        auto const out = augmented(o, seed);
        if (out == mirrored) ++flipped;
        else if (out == in) ++kept;
    }
    CHECK(flipped + kept == 64);
    CHECK(flipped > 16);  // probability 1/2: 64 draws give more than 16 of each
    CHECK(kept > 16);
}

TEST_CASE("augment: random erasing off draws nothing; on, it replaces one rectangle of 2-25 % of the face") {
    mien::augment_options const plain;
    CHECK(plain.erase == 0.0);
    mien::augment_options erasing = plain;
    erasing.erase = 1.0;
    std::uint64_t after_plain = 0, after_erasing = 0;
    int sizes_below_5 = 0, sizes_above_15 = 0;
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        auto const a = augmented(plain, seed, &after_plain);
        auto const b = augmented(erasing, seed, &after_erasing);
        CHECK(after_plain != after_erasing);  // the erasing drew from the generator
        // Everything outside one rectangle is the plain augmentation, untouched.
        int x0 = side, y0 = side, x1 = -1, y1 = -1;
        for (int y = 0; y < side; ++y)
            for (int x = 0; x < side; ++x)
                if (a[std::size_t(y * side + x)] != b[std::size_t(y * side + x)]) {
                    x0 = std::min(x0, x); y0 = std::min(y0, y); x1 = std::max(x1, x); y1 = std::max(y1, y);
                }
        REQUIRE(x1 >= 0);
        int const w = x1 - x0 + 1, h = y1 - y0 + 1;
        double const fraction = double(w * h) / (side * side);
        CAPTURE(seed);
        CHECK(fraction <= 0.25 + 0.05);  // rounding of the sides
        CHECK(fraction >= 0.02 * 0.5);   // noise may match a border pixel of the plain face
        CHECK(double(std::max(w, h)) / std::min(w, h) <= 3.3 * 1.5);
        if (fraction < 0.05) ++sizes_below_5;
        if (fraction > 0.15) ++sizes_above_15;
        CHECK(std::all_of(b.begin(), b.end(), [](float v) { return v >= 0.0f && v <= 1.0f; }));
    }
    CHECK(sizes_below_5 > 10);   // uniform in 2-25 %: about 13 % of draws below 5 %
    CHECK(sizes_above_15 > 40);  // and about 43 % above 15 %

    // Off, the generator is where the augmentation before random erasing left it: six draws
    // (shift x, shift y, flip, angle, gain, offset), so older runs keep their random stream.
    mien::random_generator fresh(5);
    for (int i = 0; i < 6; ++i) fresh.next();
    augmented(plain, 5, &after_plain);
    CHECK(after_plain == fresh.next());

    // Probability 1/2: about half of the draws erase.
    erasing.erase = 0.5;
    int erased = 0;
    for (std::uint64_t seed = 1; seed <= 400; ++seed) erased += augmented(erasing, seed) != augmented(plain, seed);
    CHECK(erased > 160);
    CHECK(erased < 240);
}
