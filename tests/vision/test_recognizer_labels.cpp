// recognizer with label sets (issue 12): an 8-output FER+ network is recognized with FER+'s
// names, a weights file's own names reach the faces, the tracker smooths all 8 classes, and the
// overlay colours a class by its meaning rather than its position.
#include <doctest/doctest.h>

#include <memory>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include <mien/io/weights.hpp>
#include <mien/vision/face_tracker.hpp>
#include <mien/vision/overlay.hpp>
#include <mien/vision/recognizer.hpp>

#include "support/io_test.hpp"

namespace {

using fast8 = mien::models::paper<16, 32, 64, 32, 64, 8>;

// A gray frame with some structure, and a box in it (no detection needed by classify).
cv::Mat frame() {
    cv::Mat f(120, 160, CV_8UC1);
    for (int y = 0; y < f.rows; ++y)
        for (int x = 0; x < f.cols; ++x) f.at<std::uint8_t>(y, x) = std::uint8_t((x * 7 + y * 3) % 256);
    return f;
}

}  // namespace

TEST_CASE("recognizer labels: an 8-output network gives 8 probabilities named in FER+ order") {
    auto net = std::make_unique<fast8>();
    net->init(1);
    mien::recognizer<fast8> rec(std::move(net));
    REQUIRE(rec.labels().size() == 8);
    CHECK(rec.labels()[0] == "neutral");
    CHECK(rec.labels()[7] == "contempt");
    auto const face = rec.classify(frame(), cv::Rect(40, 20, 60, 60));
    CHECK(face.classes == 8);
    double sum = 0;
    for (std::size_t k = 0; k < 8; ++k) sum += face.probabilities[k];
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    REQUIRE(face.label >= 0);
    CHECK(face.name() == rec.labels()[std::size_t(face.label)]);
}

TEST_CASE("recognizer labels: the names stored in the weights file reach the faces") {
    mien::testing::temp_dir dir;
    fast8 net;
    net.init(2);
    std::vector<std::string> const names{"n", "h", "su", "sa", "an", "d", "f", "c"};
    mien::save_weights(net, dir / "named.mien", {}, names);
    mien::recognizer<fast8> rec(dir / "named.mien");
    CHECK(rec.labels() == names);
    auto const face = rec.classify(frame(), cv::Rect(40, 20, 60, 60));
    CHECK(face.name() == names[std::size_t(face.label)]);
    // A 7-output network keeps FER2013's names.
    auto seven = std::make_unique<mien::models::fast>();
    mien::recognizer<mien::models::fast> rec7(std::move(seven));
    CHECK(rec7.classify(frame(), cv::Rect(40, 20, 60, 60)).classes == 7);
    CHECK(rec7.labels()[0] == "angry");
}

TEST_CASE("recognizer labels: the tracker smooths the eighth class too") {
    mien::face_tracker tracker({.smooth = 3});
    std::vector<std::string> const names(mien::ferplus_class_names.begin(), mien::ferplus_class_names.end());
    for (int i = 0; i < 3; ++i) {
        std::vector<mien::recognized_face> faces(1);
        faces[0].box = cv::Rect(10, 10, 50, 50);
        faces[0].classes = 8;
        faces[0].names = names;
        faces[0].probabilities[7] = i == 1 ? 0.2f : 0.9f;  // contempt most of the time
        faces[0].probabilities[0] = i == 1 ? 0.8f : 0.1f;
        faces[0].label = i == 1 ? 0 : 7;
        tracker.update(faces);
        if (i == 1) CHECK(faces[0].label == 7);  // the mean over two frames: contempt 0.55
        if (i == 2) CHECK(faces[0].name() == "contempt");
    }
}

TEST_CASE("recognizer labels: the overlay colours a class by its meaning") {
    mien::recognized_face f;
    std::vector<std::string> const names(mien::ferplus_class_names.begin(), mien::ferplus_class_names.end());
    f.classes = 8;
    f.names = names;
    CHECK(mien::colour_index(f, 4) == 0);  // anger: angry's red
    CHECK(mien::colour_index(f, 0) == 6);  // neutral
    CHECK(mien::colour_index(f, 7) == 7);  // contempt: the eighth colour
    mien::recognized_face g;               // 7 classes, FER2013's names by default
    CHECK(mien::colour_index(g, 3) == 3);
}
