// Probabilities of the shipped paper and fast networks on generated faces, printed one face per
// line. Built twice: with the SIMD kernels of this machine (mien_predict_dump) and with
// MIEN_NO_SIMD (mien_predict_dump_scalar, the portable path of targets without SIMD, such as a
// Cortex-M). `mien_predict_dump --compare FILE` reads the scalar build's output and checks that
// both paths give the same labels and probabilities within 1e-5 (issue 10).
#include <mien/io/weights.hpp>
#include <mien/models/paper.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int faces = 16;
constexpr double tolerance = 1e-5;

// Face-like inputs: a smooth random field in [0, 1] (the networks see such images, not noise).
std::array<float, 2304> face(int k) {
    mien::random_generator g(std::uint64_t(1000 + k));
    double const a = g.uniform(0.5, 3), b = g.uniform(0.5, 3), c = g.uniform(0, 6.3), d = g.uniform(0.2, 0.8);
    std::array<float, 2304> x{};
    for (int i = 0; i < 48; ++i)
        for (int j = 0; j < 48; ++j)
            x[std::size_t(i * 48 + j)] =
                float(std::clamp(d + 0.3 * std::sin(a * i / 48.0 * 6.28 + c) * std::cos(b * j / 48.0 * 6.28) + 0.05 * g.uniform(-1, 1), 0.0, 1.0));
    return x;
}

template <class Net>
void dump(char const* model, std::string const& weights, std::vector<std::vector<float>>& rows) {
    auto net = std::make_unique<Net>();
    mien::load_weights(*net, weights);
    for (int k = 0; k < faces; ++k) {
        auto const x = face(k);
        auto const& p = net->predict(x);
        std::printf("%s %d", model, k);
        for (float v : p) std::printf(" %.9g", double(v));
        std::printf("\n");
        rows.emplace_back(p.begin(), p.end());
    }
}

std::size_t argmax(std::vector<float> const& v) { return std::size_t(std::max_element(v.begin(), v.end()) - v.begin()); }

}  // namespace

int main(int argc, char** argv) {
    std::string const root = MIEN_SOURCE_DIR;
    std::vector<std::vector<float>> rows;
    std::printf("# simd %d\n", MIEN_SIMD);
    dump<mien::models::paper<>>("paper", root + "/models/paper.mien", rows);
    dump<mien::models::fast>("fast", root + "/models/fast.mien", rows);
    if (argc < 3 || std::strcmp(argv[1], "--compare") != 0) return 0;

    std::FILE* f = std::fopen(argv[2], "r");
    if (!f) {
        std::fprintf(stderr, "predict_dump: cannot open %s\n", argv[2]);
        return 1;
    }
    char line[512];
    std::size_t row = 0, label_mismatches = 0;
    double worst = 0;
    while (std::fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char model[16];
        int k, used;
        if (std::sscanf(line, "%15s %d%n", model, &k, &used) != 2 || row >= rows.size()) {
            std::fprintf(stderr, "predict_dump: %s: unexpected line %zu: %s", argv[2], row + 1, line);
            return 1;
        }
        std::vector<float> other;
        char const* p = line + used;
        float v;
        int n;
        while (std::sscanf(p, "%g%n", &v, &n) == 1) {
            other.push_back(v);
            p += n;
        }
        if (other.size() != rows[row].size()) {
            std::fprintf(stderr, "predict_dump: %s line %zu: %zu probabilities, expected %zu\n", argv[2], row + 1, other.size(), rows[row].size());
            return 1;
        }
        for (std::size_t i = 0; i < other.size(); ++i) worst = std::max(worst, std::abs(double(other[i]) - double(rows[row][i])));
        label_mismatches += argmax(other) != argmax(rows[row]);
        ++row;
    }
    std::fclose(f);
    std::printf("compared %zu faces: largest probability difference %.3g (tolerance %g), %zu different labels\n", row, worst,
                tolerance, label_mismatches);
    return row == rows.size() && worst <= tolerance && label_mismatches == 0 ? 0 : 1;
}
