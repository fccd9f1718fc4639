// tests/fuzz/make_seeds.cpp -- writes the binary seeds of the fuzz corpora from real files:
//
//   build-fuzz/fuzz_make_seeds <repo>/tests/fuzz/corpus <data dir>
//
//   weights/     the small network's .mien (fresh, and with metadata), and the first 4 KiB of
//                models/fast.mien (a real header and topology description, cut short)
//   checkpoint/  the small network's checkpoint after two Adam steps, and an SGD one
//   npz/         the small network's .npz as save_npz writes it
//   fer2013_csv/ a CSV of three real FER2013 faces (48x48) with a CRLF row, and one of 2x2
//                faces (what the target parses at side 2)
// The text seeds (FER+, file names, flags) are made by make_seeds.py. Seeds stay small:
// libFuzzer's default maximum input length is the largest seed.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include <mien/io/checkpoint.hpp>
#include <mien/io/npz.hpp>
#include <mien/io/weights.hpp>
#include <mien/train/trainer.hpp>

#include "fuzz_support.hpp"

namespace fs = std::filesystem;

namespace {

void write(fs::path const& path, std::vector<std::byte> const& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<char const*>(bytes.data()), std::streamsize(bytes.size()));
    std::printf("%s: %zu bytes\n", path.string().c_str(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR DATA_DIR\n", argv[0]);
        return 2;
    }
    fs::path const out = argv[1], data = argv[2];
    fs::path const repo = fs::path(MIEN_SOURCE_DIR);
    auto net = std::make_unique<mien::fuzz::tiny>();
    net->init(7);
    write(out / "weights" / "tiny.mien", mien::encode_weights(*net));
    write(out / "weights" / "tiny_metadata.mien", mien::encode_weights(*net, {{"epoch", "3"}, {"val_accuracy", "0.5"}}));
    {
        auto bytes = mien::detail::read_file(repo / "models" / "fast.mien", "make_seeds");
        bytes.resize(4096);
        write(out / "weights" / "fast_first_4k.mien", bytes);
    }

    auto tr = std::make_unique<mien::trainer<mien::fuzz::tiny, 4>>(*net);
    std::vector<float> images(4 * 16);
    for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(i % 11) / 11.0f;
    std::vector<std::int32_t> const labels{0, 1, 2, 1};
    tr->step(images, labels);
    tr->step(images, labels);
    write(out / "checkpoint" / "adam.ckpt", mien::encode_checkpoint(*tr, {{"epoch", "1"}, {"batch", "2"}}));
    auto sgd = std::make_unique<mien::trainer<mien::fuzz::tiny, 4, mien::sgd>>(*net);
    sgd->step(images, labels);
    write(out / "checkpoint" / "sgd.ckpt", mien::encode_checkpoint(*sgd));

    write(out / "npz" / "tiny.npz", mien::encode_npz(*net));

    // Three real faces of the FER2013 folders, as Kaggle's CSV has them (the last row CRLF).
    std::string csv = "emotion,pixels,Usage\n";
    char const* const files[] = {"train/angry", "train/happy", "val/surprise"};
    int const classes[] = {0, 3, 5};
    char const* const usages[] = {"Training", "Training", "PublicTest"};
    for (int i = 0; i < 3; ++i) {
        fs::path first;
        for (auto const& e : fs::directory_iterator(data / "fer2013" / files[i]))
            if (first.empty() || e.path() < first) first = e.path();
        cv::Mat const face = cv::imread(first.string(), cv::IMREAD_GRAYSCALE);
        if (face.rows != 48 || face.cols != 48) {
            std::fprintf(stderr, "make_seeds: %s is not a 48x48 image\n", first.string().c_str());
            return 1;
        }
        csv += std::to_string(classes[i]) + ",";
        for (int p = 0; p < 48 * 48; ++p) csv += (p ? " " : "") + std::to_string(int(face.data[p]));
        csv += std::string(",") + usages[i] + (i == 2 ? "\r\n" : "\n");
    }
    std::vector<std::byte> bytes(csv.size());
    std::memcpy(bytes.data(), csv.data(), csv.size());
    write(out / "fer2013_csv" / "three_faces.csv", bytes);
    std::string const small = "emotion,pixels,Usage\n0,1 2 3 4,Training\n6,255 0 17 9,PublicTest\r\n3,9 9 9 9,PrivateTest\n";
    bytes.assign(small.size(), std::byte{});
    std::memcpy(bytes.data(), small.data(), small.size());
    write(out / "fer2013_csv" / "side2.csv", bytes);
    return 0;
}
