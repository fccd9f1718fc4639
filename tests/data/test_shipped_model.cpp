// The shipped models (models/paper.mien, models/fast.mien, models/paper_ferplus.mien) reach the
// validation accuracy docs/RESULTS.md states.
//
// RESULTS.md carries the figure on a line "shipped: models/paper.mien fer2013/val flip-test
// accuracy 0.xxxx"; this test evaluates the file on FER2013's val split the same way
// (batch-1 predict, each face averaged with its mirror image) and requires agreement within
// 0.1 percentage points. Skips when the data set is absent.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <regex>
#include <string>

#include <mien/data/augment.hpp>
#include <mien/data/ferplus.hpp>
#include <mien/data/ferplus_folder.hpp>
#include <mien/data/image_folder.hpp>
#include <mien/io/weights.hpp>
#include <mien/mien.hpp>

#include "support/data_dir.hpp"

namespace {

double documented_accuracy(std::string const& model_file, std::string const& split = "fer2013/val") {
    std::ifstream in(std::string(MIEN_SOURCE_DIR) + "/docs/RESULTS.md");
    REQUIRE(in);
    std::regex const line("shipped: models/" + model_file + " " + split + " flip-test accuracy ([0-9.]+)");
    std::string text;
    while (std::getline(in, text)) {
        std::smatch m;
        if (std::regex_search(text, m, line)) return std::stod(m[1]);
    }
    FAIL("docs/RESULTS.md has no 'shipped: models/" << model_file << " ...' line");
    return -1;
}

// Flip-test accuracy of the shipped file on val (labels in val.labels).
template <class Net>
double flip_test_accuracy(std::string const& model_file, mien::dataset const& val) {
    auto net = std::make_unique<Net>();
    mien::load_weights(*net, std::string(MIEN_SOURCE_DIR) + "/models/" + model_file, mien::topology_check::exact);
    std::array<float, Net::inputs> face{}, mirrored{};
    std::size_t correct = 0;
    for (std::size_t i = 0; i < val.size(); ++i) {
        val.to_float(i, face.data());
        mien::mirror(face.data(), mirrored.data(), val.side);
        auto const p = net->predict(std::span<float const, Net::inputs>(face));
        auto const q = net->predict(std::span<float const, Net::inputs>(mirrored));
        std::array<float, Net::outputs> mean{};
        for (std::size_t k = 0; k < mean.size(); ++k) mean[k] = 0.5f * (p[k] + q[k]);
        correct += std::size_t(std::max_element(mean.begin(), mean.end()) - mean.begin()) == std::size_t(val.labels[i]);
    }
    return double(correct) / double(val.size());
}

template <class Net>
void check_shipped(std::string const& model_file) {
    MIEN_REQUIRE_DATA_SET(fer, "fer2013");
    auto const val = mien::load_image_folder(*fer_found / "val");
    double const accuracy = flip_test_accuracy<Net>(model_file, val);
    MESSAGE(model_file << ": measured " << accuracy << " on " << val.size() << " faces");
    CHECK(std::abs(accuracy - documented_accuracy(model_file)) <= 0.001);
}

}  // namespace

TEST_CASE("shipped paper model: FER2013 val accuracy as documented in docs/RESULTS.md") {
    check_shipped<mien::models::paper<>>("paper.mien");
}

TEST_CASE("shipped fast model: FER2013 val accuracy as documented in docs/RESULTS.md") {
    check_shipped<mien::models::fast>("fast.mien");
}

// The 8-class FER+ model on FER2013's val images with FER+ majority labels (3,199 faces kept).
TEST_CASE("shipped FER+ model: FER+ val majority accuracy as documented in docs/RESULTS.md") {
    MIEN_REQUIRE_DATA_SET(fer, "fer2013");
    MIEN_REQUIRE_DATA_SET(ferplus, "ferplus");
    auto const votes = mien::load_ferplus_votes(*ferplus_found);
    auto const val = mien::load_ferplus_folder(*fer_found, votes, "PublicTest", mien::ferplus_protocol::majority);
    double const accuracy = flip_test_accuracy<mien::models::paper<32, 64, 128, 64, 128, 8>>("paper_ferplus.mien", val.faces);
    MESSAGE("paper_ferplus.mien: measured " << accuracy << " on " << val.faces.size() << " faces");
    CHECK(val.faces.size() == 3199);
    CHECK(std::abs(accuracy - documented_accuracy("paper_ferplus.mien", "ferplus/val-majority")) <= 0.001);
}
