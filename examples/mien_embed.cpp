// mien-embed: turns a .mien weights file into a C++ header of constant arrays for firmware.
//
//   mien-embed --model fast --weights models/fast.mien --output fast_weights.hpp [--namespace fast_weights]
//
// The file must hold exactly the topology of --model (mien::topology_check::exact): a file of
// another network is refused with the first differing tensor and both shapes, e.g.
//   00.conv2d.weight: file shape (3,3,1,32) != model shape (3,3,1,16)
// The header's format is described in include/mien/io/embed.hpp; cmake/mien_embed.cmake runs
// this program at build time. It needs nothing but mien, so it builds on any host.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <mien/io/embed.hpp>
#include <mien/io/weights.hpp>
#include <mien/models/paper.hpp>

namespace {

constexpr char usage[] =
    "usage: mien-embed --model paper|fast --weights FILE.mien --output HEADER.hpp [--namespace NAME]\n"
    "Writes the network's parameters and running statistics as constant arrays (hex-float literals).\n";

template <class Net>
void convert(std::string const& weights, std::string const& output, mien::embed_options const& options) {
    auto net = std::make_unique<Net>();  // the owning network is large: keep it off the stack
    mien::load_weights(*net, weights, mien::topology_check::exact);
    std::string const text = mien::weights_header(*net, options);
    mien::detail::write_file_atomically(output, std::as_bytes(std::span(text.data(), text.size())), "mien-embed");
    std::printf("mien-embed: wrote %s: model %s, %zu parameters + %zu state values = %zu bytes of constants\n",
                output.c_str(), options.model.c_str(), std::size_t(Net::params), std::size_t(Net::state_size),
                std::size_t(Net::params + Net::state_size) * sizeof(float));
}

}  // namespace

int main(int argc, char** argv) {
    std::string model, weights, output, name_space;
    for (int i = 1; i < argc; ++i) {
        std::string_view const flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::fputs(usage, stdout);
            return 0;
        }
        std::string* target = flag == "--model" ? &model : flag == "--weights" ? &weights : flag == "--output" ? &output
                            : flag == "--namespace" ? &name_space : nullptr;
        if (!target) {
            std::fprintf(stderr, "mien-embed: unknown argument '%s'\n%s", argv[i], usage);
            return 2;
        }
        if (i + 1 == argc) {
            std::fprintf(stderr, "mien-embed: %s needs a value\n%s", argv[i], usage);
            return 2;
        }
        *target = argv[++i];
    }
    if (model.empty() || weights.empty() || output.empty()) {
        std::fprintf(stderr, "mien-embed: --model, --weights and --output are required\n%s", usage);
        return 2;
    }
    mien::embed_options options;
    options.model = model;
    options.source = weights;
    options.name_space = name_space.empty() ? model + "_weights" : name_space;
    try {
        if (model == "paper") convert<mien::models::paper<>>(weights, output, options);
        else if (model == "fast") convert<mien::models::fast>(weights, output, options);
        else {
            std::fprintf(stderr, "mien-embed: --model must be paper or fast (found '%s')\n", model.c_str());
            return 2;
        }
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-embed: %s\n", e.what());
        return 1;
    }
    return 0;
}
