// mien-eval-fixture -- writes a tiny data set and untrained weights for mien-eval's CTest tests.
//
//   mien-eval-fixture DIR   ->  DIR/faces/<label>/face_<i>.png (7 labels x 3 faces, 48x48 gray),
//                               DIR/faces.csv (the same faces as a FER2013 CSV, Usage PublicTest),
//                               DIR/fast.mien (the fast model, initialised with seed 1),
//                               DIR/ckplus/<folder>/S<subject>_001_<frame>.png (CK+48 layout:
//                                 6 subjects x 7 folders, contempt included, x 2 frames),
//                               DIR/jaffe/<subject>.<expr>1.<id>.tiff (JAFFE names: 3 subjects x
//                                 7 expressions, 64x64, no face in them: centre-cropped)
//
// The faces are seeded noise: the tests check the programs' plumbing (mien-eval, mien-crossval)
// and their JSON, not accuracy.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mien/core/random.hpp>
#include <mien/data/labels.hpp>
#include <mien/io/weights.hpp>
#include <mien/mien.hpp>

namespace {

void write_noise(std::filesystem::path const& file, int side, mien::random_generator& rng) {
    cv::Mat face(side, side, CV_8UC1);
    for (int p = 0; p < side * side; ++p) face.data[p] = std::uint8_t(rng.below(256));
    if (!cv::imwrite(file.string(), face)) mien::fail("cannot write %s", file.string().c_str());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: mien-eval-fixture DIR\n");
        return 2;
    }
    namespace fs = std::filesystem;
    try {
        fs::path const dir = argv[1];
        fs::create_directories(dir);
        mien::random_generator rng(7);
        std::ofstream csv(dir / "faces.csv");
        csv << "emotion,pixels,Usage\n";
        for (std::size_t label = 0; label < mien::expression_count; ++label) {
            fs::path const folder = dir / "faces" / std::string(mien::expression_names[label]);
            fs::create_directories(folder);
            for (int i = 0; i < 3; ++i) {
                cv::Mat face(48, 48, CV_8UC1);
                for (int p = 0; p < 48 * 48; ++p) face.data[p] = std::uint8_t(rng.below(256));
                if (!cv::imwrite((folder / ("face_" + std::to_string(i) + ".png")).string(), face))
                    mien::fail("cannot write into %s", folder.string().c_str());
                csv << label << ',';
                for (int p = 0; p < 48 * 48; ++p) csv << (p ? " " : "") << int(face.data[p]);
                csv << ",PublicTest\n";
            }
        }
        char const* const ck_folders[] = {"anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"};
        for (char const* folder : ck_folders) {
            fs::create_directories(dir / "ckplus" / folder);
            for (int subject = 1; subject <= 6; ++subject)
                for (int frame = 1; frame <= 2; ++frame) {
                    std::string name = "S00";  // appended, not "S00" + to_string: GCC 12 -O3 warns falsely (-Wrestrict)
                    name += std::to_string(subject);
                    name += "_001_0";
                    name += std::to_string(frame);
                    write_noise(dir / "ckplus" / folder / (name + ".png"), 48, rng);
                }
        }
        fs::create_directories(dir / "jaffe");
        char const* const codes[] = {"AN", "DI", "FE", "HA", "SA", "SU", "NE"};
        int id = 1;
        for (char const* subject : {"AA", "BB", "CC"})
            for (char const* code : codes)
                write_noise(dir / "jaffe" / (std::string(subject) + "." + code + "1." + std::to_string(id++) + ".tiff"), 64, rng);
        auto net = std::make_unique<mien::models::fast>();
        net->init(1);
        mien::save_weights(*net, dir / "fast.mien", {{"purpose", "mien-eval test fixture (untrained)"}});
        std::printf("wrote %s/{faces/, faces.csv, fast.mien, ckplus/, jaffe/}\n", dir.string().c_str());
        return 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-eval-fixture: %s\n", e.what());
        return 1;
    }
}
