// examples/embedded/host_reference.cpp -- the firmware's predictions, computed on the host.
//
//   host-reference-fast --weights models/fast.mien                  prints the `face` lines
//   host-reference-fast --weights models/fast.mien --compare FILE   and checks FILE's
//
// The independent path: the owning network loads the .mien file with load_weights (no
// generated header, no network_view) and predicts the same faces (fer2013_faces.hpp) with the
// host's kernels. It prints the `face` lines exactly as the firmware does (line.hpp). With
// --compare it reads another run's output (the firmware's under QEMU, or a scalar host build)
// and requires every face, the same predicted class, and every probability within
// --tolerance (default 1e-5); it prints the largest difference and exits 1 on any mismatch.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <mien/io/weights.hpp>

#include "fer2013_faces.hpp"
#include "line.hpp"
#include "model.hpp"

namespace {

using net = firmware::net;

struct face_result {
    std::size_t label = 0, predicted = 0;
    std::array<float, net::outputs> probabilities{};
};

// The `face` lines of another run, by face index. A malformed line is an error naming it.
std::vector<face_result> read_faces(std::string const& path) {
    std::ifstream in(path);
    if (!in) mien::fail("--compare: cannot open %s", path.c_str());
    std::vector<face_result> faces(fer2013_faces::count);
    std::vector<bool> seen(fer2013_faces::count, false);
    std::string text;
    while (std::getline(in, text)) {
        if (!text.starts_with("face ")) continue;
        std::istringstream words(text);
        std::string face, label, predicted, probabilities;
        std::size_t index = 0;
        face_result r;
        words >> face >> index >> label >> r.label >> predicted >> r.predicted >> probabilities;
        for (float& p : r.probabilities) {
            std::string hex;
            words >> hex;
            if (hex.size() != 8) mien::fail("--compare: %s: malformed line '%s'", path.c_str(), text.c_str());
            p = std::bit_cast<float>(std::uint32_t(std::strtoul(hex.c_str(), nullptr, 16)));
        }
        if (!words || label != "label" || predicted != "predicted" || probabilities != "probabilities" ||
            index >= fer2013_faces::count)
            mien::fail("--compare: %s: malformed line '%s'", path.c_str(), text.c_str());
        faces[index] = r;
        seen[index] = true;
    }
    for (std::size_t i = 0; i < seen.size(); ++i)
        if (!seen[i]) mien::fail("--compare: %s has no line for face %zu (expected %zu faces)", path.c_str(), i, seen.size());
    return faces;
}

}  // namespace

int main(int argc, char** argv) {
    std::string weights, compare;
    double tolerance = 1e-5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--weights") == 0) weights = argv[i + 1];
        else if (std::strcmp(argv[i], "--compare") == 0) compare = argv[i + 1];
        else if (std::strcmp(argv[i], "--tolerance") == 0) tolerance = std::atof(argv[i + 1]);
        else {
            std::fprintf(stderr, "host-reference: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (weights.empty() || argc % 2 == 0) {
        std::fprintf(stderr, "usage: %s --weights FILE.mien [--compare OUTPUT] [--tolerance T]\n", argv[0]);
        return 2;
    }
    try {
        auto network = std::make_unique<net>();
        mien::load_weights(*network, weights, mien::topology_check::exact);
        std::vector<face_result> const other = compare.empty() ? std::vector<face_result>() : read_faces(compare);
        double worst = 0;
        std::size_t agree = 0, worst_face = 0;
        for (std::size_t i = 0; i < fer2013_faces::count; ++i) {
            auto const& p = network->predict(std::span<float const, net::inputs>(fer2013_faces::images[i]));
            std::size_t const predicted = std::size_t(std::max_element(p.begin(), p.end()) - p.begin());
            embedded::line out;
            out << "face " << i << " label " << unsigned(fer2013_faces::labels[i]) << " predicted " << predicted
                << " probabilities";
            for (float v : p) {
                out << " ";
                out.bits(v);
            }
            std::puts(out.c_str());
            if (compare.empty()) continue;
            agree += other[i].predicted == predicted;
            for (std::size_t k = 0; k < p.size(); ++k) {
                double const d = std::fabs(double(p[k]) - double(other[i].probabilities[k]));
                if (d > worst) {
                    worst = d;
                    worst_face = i;
                }
            }
        }
        if (!compare.empty()) {
            bool const ok = agree == fer2013_faces::count && worst <= tolerance;
            std::printf("compare %s: predicted classes agree on %zu of %zu faces; max |probability difference| %.3g "
                        "(face %zu), tolerance %.3g: %s\n",
                        compare.c_str(), agree, std::size_t(fer2013_faces::count), worst, worst_face, tolerance,
                        ok ? "ok" : "MISMATCH");
            return ok ? 0 : 1;
        }
    } catch (std::exception const& e) {
        std::fprintf(stderr, "host-reference: %s\n", e.what());
        return 1;
    }
    return 0;
}
