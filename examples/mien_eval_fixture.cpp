// mien-eval-fixture -- writes a tiny data set and untrained weights for mien-eval's CTest tests.
//
//   mien-eval-fixture DIR   ->  DIR/faces/<label>/face_<i>.png (7 labels x 3 faces, 48x48 gray),
//                               DIR/faces.csv (the same faces as a FER2013 CSV, Usage PublicTest),
//                               DIR/fast.mien (the fast model, initialised with seed 1)
//
// The faces are seeded noise: the tests check mien-eval's plumbing and its JSON, not accuracy.
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
        auto net = std::make_unique<mien::models::fast>();
        net->init(1);
        mien::save_weights(*net, dir / "fast.mien", {{"purpose", "mien-eval test fixture (untrained)"}});
        std::printf("wrote %s/{faces/, faces.csv, fast.mien}\n", dir.string().c_str());
        return 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-eval-fixture: %s\n", e.what());
        return 1;
    }
}
