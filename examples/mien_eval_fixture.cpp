// mien-eval-fixture -- writes a tiny data set and untrained weights for mien-eval's CTest tests.
//
//   mien-eval-fixture DIR   ->  DIR/faces/<label>/face_<i>.png (7 labels x 3 faces, 48x48 gray),
//                               DIR/faces.csv (the same faces as a FER2013 CSV, Usage PublicTest),
//                               DIR/fast.mien (the fast model, initialised with seed 1),
//                               DIR/ckplus/<folder>/S<subject>_001_<frame>.png (CK+48 layout:
//                                 6 subjects x 7 folders, contempt included, x 2 frames),
//                               DIR/jaffe/<subject>.<expr>1.<id>.tiff (JAFFE names: 3 subjects x
//                                 7 expressions, 64x64, no face in them: centre-cropped)
//                               DIR/fer/{train,val}/<label>/face_<i>.png (the faces again, as
//                                 FER2013's split folders) and DIR/ferplus/ (FER+ vote CSVs for
//                                 them: 7 votes for the folder's class, 3 for the next one;
//                                 face_2 of each val folder gets 5 and 5, no majority)
//                               DIR/fast8.mien (the fast model with 8 outputs, seed 1)
//                               DIR/large.mien, DIR/large8.mien (the large model with 7 and 8
//                                 outputs, seed 1: for the Python module and mien-detect)
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

// Net initialised with seed 1, untrained: the programs' plumbing needs weights, not accuracy.
template <class Net>
void write_untrained(std::filesystem::path const& file, char const* purpose) {
    auto net = std::make_unique<Net>();
    net->init(1);
    mien::save_weights(*net, file, {{"purpose", purpose}});
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
        // FER2013 folders and FER+ votes: FER+ column of each FER2013 class (angry ... neutral).
        int const ferplus_column[] = {4, 5, 6, 1, 3, 2, 0};
        fs::create_directories(dir / "ferplus");
        std::ofstream votes(dir / "ferplus" / "fer2013new.csv"), mapping(dir / "ferplus" / "fer2013new_to_fer2013_files.csv");
        votes << "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n";
        mapping << "csv_row,usage,ferplus_image_name,label,file,rmse,near_duplicate,label_ambiguous\n";
        int row = 0;
        for (char const* split : {"train", "val"})
            for (std::size_t label = 0; label < mien::expression_count; ++label) {
                std::string const name(mien::expression_names[label]);
                fs::create_directories(dir / "fer" / split / name);
                for (int i = 0; i < 3; ++i) {
                    std::string const file = std::string(split) + "/" + name + "/face_" + std::to_string(i) + ".png";
                    fs::copy_file(dir / "faces" / name / ("face_" + std::to_string(i) + ".png"), dir / "fer" / file,
                                  fs::copy_options::overwrite_existing);
                    int counts[10] = {};
                    bool const tie = std::string(split) == "val" && i == 2;
                    counts[ferplus_column[label]] = tie ? 5 : 7;
                    counts[(ferplus_column[label] + 1) % 8] += tie ? 5 : 3;
                    char image[32];
                    std::snprintf(image, sizeof image, "fer%07d.png", row);
                    char const* usage = std::string(split) == "train" ? "Training" : "PublicTest";
                    votes << usage << ',' << image;
                    for (int c : counts) votes << ',' << c;
                    votes << '\n';
                    mapping << row << ',' << usage << ',' << image << ',' << name << ',' << file << ",0.0,0,0\n";
                    ++row;
                }
            }
        char const* const untrained7 = "mien-eval test fixture (untrained)";
        char const* const untrained8 = "mien-eval test fixture (untrained, 8 classes)";
        write_untrained<mien::models::fast>(dir / "fast.mien", untrained7);
        write_untrained<mien::models::paper<16, 32, 64, 32, 64, 8>>(dir / "fast8.mien", untrained8);
        write_untrained<mien::models::large>(dir / "large.mien", untrained7);
        write_untrained<mien::models::paper<64, 128, 256, 128, 256, 8>>(dir / "large8.mien", untrained8);
        std::printf("wrote %s/{faces/, faces.csv, fast.mien, fast8.mien, large.mien, large8.mien, ckplus/, jaffe/, fer/, ferplus/}\n",
                    dir.string().c_str());
        return 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-eval-fixture: %s\n", e.what());
        return 1;
    }
}
