// libFuzzer target: the FER2013 CSV reader (mien/data/fer2013_csv.hpp) on untrusted bytes.
//
// The reader takes a path, so each input is written to a scratch file (in /dev/shm) and read
// for every split, strict and with skip_bad. An accepted split must hold whole faces with
// labels 0..6, one source per face.
#include <string_view>

#include <mien/data/fer2013_csv.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    static auto const path = mien::fuzz::scratch_dir() / "fer2013.csv";
    mien::fuzz::write_file(path, data, size);
    for (std::string_view usage : mien::fer2013_usages) {
        for (bool skip : {false, true}) {
            mien::fer2013_csv_options o;
            o.skip_bad = skip;
            o.side = 2;  // 4 pixels a row: short rows let mutations reach every check
            try {
                auto const d = mien::load_fer2013_csv(path, usage, o);
                if (d.size() == 0 || d.pixels.size() != d.size() * d.face_size() || d.sources.size() != d.size()) std::abort();
                for (auto label : d.labels)
                    if (label < 0 || label > 6) std::abort();
            } catch (mien::error const&) {
            }
        }
    }
    return 0;
}
