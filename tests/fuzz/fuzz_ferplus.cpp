// libFuzzer target: the FER+ vote reader (mien/data/ferplus.hpp) on untrusted bytes.
//
// load_ferplus_votes reads two files from a folder; the input is split at its first NUL byte
// into fer2013new.csv and fer2013new_to_fer2013_files.csv (no NUL: the whole input is both).
// Every face of an accepted table is looked up by its file and turned into the 8-class targets
// of each protocol and the 7-class soft target, which must be distributions.
#include <cmath>
#include <cstring>
#include <string_view>

#include <mien/data/ferplus.hpp>

#include "fuzz_support.hpp"

namespace {

template <class A>
void check_distribution(A const& p) {
    double sum = 0;
    for (float x : p) {
        if (!(x >= 0.0f && x <= 1.0f)) std::abort();
        sum += x;
    }
    if (std::fabs(sum - 1.0) > 1e-4) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    static auto const dir = mien::fuzz::scratch_dir() / "ferplus";
    static bool const made = std::filesystem::create_directories(dir) || true;
    (void)made;
    auto const* nul = static_cast<std::uint8_t const*>(std::memchr(data, 0, size));
    std::size_t const first = nul ? std::size_t(nul - data) : size;
    mien::fuzz::write_file(dir / "fer2013new.csv", data, first);
    if (nul) mien::fuzz::write_file(dir / "fer2013new_to_fer2013_files.csv", nul + 1, size - first - 1);
    else mien::fuzz::write_file(dir / "fer2013new_to_fer2013_files.csv", data, size);
    try {
        auto const t = mien::load_ferplus_votes(dir);
        for (auto const& face : t.faces) {
            if (t.find(face.file) != &face) std::abort();  // index() refuses duplicates
            for (auto p : {mien::ferplus_protocol::majority, mien::ferplus_protocol::probability,
                           mien::ferplus_protocol::crossentropy})
                if (auto const target = mien::ferplus_target(face.votes, p)) check_distribution(*target);
            if (auto const soft = mien::fer2013_soft_target(face.votes)) check_distribution(*soft);
        }
    } catch (mien::error const&) {
    }
    return 0;
}
