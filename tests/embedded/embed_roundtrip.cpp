// tests/embedded/embed_roundtrip.cpp -- mien-embed's headers hold the loaded weights exactly.
//
// The headers are generated at build time (mien_embed_weights) from the shipped models; this
// program loads the same .mien files the usual way and requires every parameter and running
// statistic to have the same bits as the header's arrays. Exit status 1 names the first
// differing value.
#include <bit>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>

#include <mien/io/fingerprint.hpp>
#include <mien/io/weights.hpp>
#include <mien/models/paper.hpp>

#include "fast_weights.hpp"
#include "paper_weights.hpp"

static_assert(fast_weights::topology_fingerprint == mien::topology_fingerprint<mien::models::fast>);
static_assert(paper_weights::topology_fingerprint == mien::topology_fingerprint<mien::models::paper<>>);
static_assert(fast_weights::params == mien::models::fast::params && fast_weights::state_size == mien::models::fast::state_size);
static_assert(paper_weights::params == mien::models::paper<>::params &&
              paper_weights::state_size == mien::models::paper<>::state_size);

namespace {

// The number of differing values (0 when all bits agree); prints the first difference.
std::size_t differences(char const* what, std::span<float const> loaded, std::span<float const> header) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < loaded.size(); ++i) {
        if (std::bit_cast<std::uint32_t>(loaded[i]) == std::bit_cast<std::uint32_t>(header[i])) continue;
        if (count++ == 0)
            std::printf("%s[%zu]: loaded %a (0x%08x) != header %a (0x%08x)\n", what, i, double(loaded[i]),
                        unsigned(std::bit_cast<std::uint32_t>(loaded[i])), double(header[i]),
                        unsigned(std::bit_cast<std::uint32_t>(header[i])));
    }
    std::printf("%s: %zu values, %zu differ\n", what, loaded.size(), count);
    return count;
}

template <class Net>
std::size_t check(char const* model, std::span<float const, Net::params> parameters,
                  std::span<float const, Net::state_size> state) {
    auto net = std::make_unique<Net>();
    std::string const path = std::string(MIEN_SOURCE_DIR) + "/models/" + model + ".mien";
    mien::load_weights(*net, path, mien::topology_check::exact);
    std::string const name = model;
    return differences((name + " parameters").c_str(), net->parameters(), parameters) +
           differences((name + " state").c_str(), net->state(), state);
}

}  // namespace

int main() {
    try {
        std::size_t const bad = check<mien::models::fast>("fast", fast_weights::parameters, fast_weights::state) +
                                check<mien::models::paper<>>("paper", paper_weights::parameters, paper_weights::state);
        std::puts(bad == 0 ? "every value has the same bits in the header and the loaded network" : "MISMATCH");
        return bad == 0 ? 0 : 1;
    } catch (std::exception const& e) {
        std::printf("embed_roundtrip: %s\n", e.what());
        return 1;
    }
}
