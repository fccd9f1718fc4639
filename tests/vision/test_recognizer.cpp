// recognizer: the whole pipeline (detect, crop, gray, 48x48, predict) with the shipped paper
// network, on generated frames and, when the shared data are there, on real photos and on a
// FER2013 validation face.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mien/data/image_folder.hpp>
#include <mien/vision/face_tracker.hpp>
#include <mien/vision/recognizer.hpp>

#include "support/data_dir.hpp"
#include "support/face_photos.hpp"

namespace fs = std::filesystem;

namespace {

std::string const shipped = std::string(MIEN_SOURCE_DIR) + "/models/paper.mien";

// The faces of a FER2013 val folder in sorted file order.
std::vector<fs::path> sorted_images(fs::path const& dir) {
    std::vector<fs::path> files;
    for (auto const& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

TEST_CASE("recognizer: a frame without a face is an empty result; bad setups are errors") {
    mien::recognizer<> rec(shipped);
    auto const& none = rec.recognize(cv::Mat(480, 640, CV_8UC3, cv::Scalar(120, 130, 140)));
    CHECK(none.empty());
    CHECK(rec.timings().faces == 0);
    CHECK(rec.timings().detection_ms > 0);
    CHECK(rec.recognize(cv::Mat()).empty());
    CHECK(rec.recognize_near(cv::Mat(480, 640, CV_8UC3, cv::Scalar(0, 0, 0)), std::vector<cv::Rect>{{100, 100, 80, 80}}).empty());
    CHECK(rec.recognize_near(cv::Mat(480, 640, CV_8UC3, cv::Scalar(0, 0, 0)), std::vector<cv::Rect>{}).empty());
    CHECK_THROWS_WITH_AS(rec.input(0), doctest::Contains("face 0 of 0"), mien::error);
    CHECK_THROWS_WITH_AS(rec.set_crop({.margin = 0.1, .side = 32}), doctest::Contains("crop side 32 != the network's input side 48"),
                         mien::error);
    CHECK_THROWS_WITH_AS(mien::recognizer<>("/nonexistent/w.mien"), doctest::Contains("cannot open /nonexistent/w.mien"),
                         mien::error);
    mien::recognizer_options no_cascade;
    no_cascade.detector.cascade = "/nonexistent/cascade.xml";
    CHECK_THROWS_WITH_AS(mien::recognizer<>(shipped, no_cascade), doctest::Contains("/nonexistent/cascade.xml does not exist"),
                         mien::error);
    // The wrong network for the weights: the loader says so.
    CHECK_THROWS_AS(mien::recognizer<mien::models::fast>{shipped}, mien::error);
    CHECK((std::is_same_v<mien::vision::recognizer<>, mien::recognizer<>>));
}

TEST_CASE("recognizer: a FER2013 val face gets the same prediction through the pipeline as through predict") {
    MIEN_REQUIRE_DATA_SET(fer, "fer2013");
    auto net = std::make_unique<mien::models::paper<>>();
    mien::load_weights(*net, shipped);
    mien::recognizer<> rec(shipped);
    // The first 30 faces of every class (sorted file order): the share of labels the pipeline's
    // framing keeps is a property of the whole set, not of one class (on the first 20 happy faces
    // alone both the 66.31 % and the distilled network sat within a face of any threshold).
    std::size_t detected = 0, misplaced = 0, agree = 0, agree_wide = 0, checked = 0;
    for (auto const name : mien::expression_names) {
        std::size_t in_class = 0;
        for (auto const& file : sorted_images(fer / "val" / std::string(name))) {
            if (in_class == 30) break;
            ++in_class;
            ++checked;
            CAPTURE(file);
            cv::Mat const face = cv::imread(file.string(), cv::IMREAD_GRAYSCALE);
            REQUIRE(face.size() == cv::Size(48, 48));
            std::array<float, 48 * 48> direct_input{};
            for (int i = 0; i < 48 * 48; ++i) direct_input[std::size_t(i)] = float(face.data[i]) / 255.0f;
            auto const direct = net->predict(direct_input);
            int const direct_label = mien::top_label(direct);

            // The face enlarged 4x (each pixel a 4x4 block) into a 640x480 colour frame.
            cv::Mat big, frame(480, 640, CV_8UC3, cv::Scalar(100, 100, 100));
            cv::resize(face, big, cv::Size(192, 192), 0, 0, cv::INTER_NEAREST);
            cv::Rect const where(200, 150, 192, 192);
            cv::cvtColor(big, frame(where), cv::COLOR_GRAY2BGR);

            // Exactly the same pixels when the crop is that square: the same probabilities, bit for bit.
            rec.set_crop({.margin = 0.0, .side = 48, .offset = 0.0});
            auto const same = rec.classify(frame, where);
            CHECK(same.label == direct_label);
            for (std::size_t k = 0; k < mien::expression_count; ++k) CHECK(same.probabilities[k] == direct[k]);
            auto const seen = rec.input(0);
            CHECK(std::equal(seen.begin(), seen.end(), direct_input.begin()));

            // Detection and the default framing: the face is found where it is and, framed as the
            // pipeline frames it, mostly gets the same label; a crop 1.5x the detected box (margin
            // 0.25, the worst row of RECOGNIZER.md's framing table) keeps fewer of them.
            rec.set_crop({});
            auto const& faces = rec.recognize(frame);
            if (faces.size() != 1) continue;
            ++detected;
            // A face that fills its crop, or one half hidden by hands, can be found as a smaller
            // part of itself (2 of these 210: IoU 0.12 and 0.25); those are not framing's doing.
            if (mien::iou(faces[0].box, where) <= 0.3) {
                ++misplaced;
                continue;
            }
            agree += faces[0].label == direct_label;
            cv::Rect const box = faces[0].box;
            rec.set_crop({.margin = 0.25});
            agree_wide += rec.classify(frame, box).label == direct_label;
        }
    }
    MESSAGE("FER2013 val, first 30 faces of each class enlarged 4x: " << checked << ", detected " << detected
                                                                    << " (" << misplaced << " not where the face is), label as predict in " << agree << " (default framing), "
                                                                    << agree_wide << " (margin 0.25)");
    CHECK(checked == 30 * mien::expression_count);
    CHECK(detected >= checked / 2);
    CHECK(misplaced * 20 <= detected);
    std::size_t const placed = detected - misplaced;
    // Measured (docs/RECOGNIZER.md): of the 129 found where they are, 91 with the shipped network,
    // 94 with the 68.40 % one before it, 97 with the 66.31 % one; at margin 0.25, 58, 56 and 70.
    CHECK(agree * 3 >= placed * 2);
    CHECK(agree > agree_wide + placed / 10);
}

TEST_CASE("recognizer: exactly one face in each one-face photo of shared/data/faces, and what it saw") {
    MIEN_REQUIRE_DATA_SET(faces, "faces");
    mien::recognizer<> rec(shipped);
    for (auto const& name : mien::testing::one_face_photos()) {
        CAPTURE(name);
        cv::Mat const image = cv::imread((faces / name).string(), cv::IMREAD_COLOR);
        REQUIRE_FALSE(image.empty());
        auto const& found = rec.recognize(image);
        REQUIRE(found.size() == 1);
        auto const& face = found[0];
        CHECK(face.label >= 0);
        CHECK(face.label < int(mien::expression_count));
        CHECK(face.confidence() == *std::max_element(face.probabilities.begin(), face.probabilities.end()));
        float sum = 0;
        for (float p : face.probabilities) sum += p;
        CHECK(sum == doctest::Approx(1.0f).epsilon(1e-4));
        CHECK(face.crop == mien::square_box(face.box, rec.options().crop.margin, rec.options().crop.offset));
        // The network's input is the crop of face_crop.hpp (computed by face_cropper, which
        // skips crop_face's rounding to 8 bits: within a gray level), and classify() agrees.
        std::vector<float> const expected = mien::crop_face_float(image, face.box, rec.options().crop);
        auto const seen = rec.input(0);
        float worst = 0;
        for (std::size_t i = 0; i < expected.size(); ++i) worst = std::max(worst, std::abs(seen[i] - expected[i]));
        CHECK(worst <= 1.01f / 255.0f);
        CHECK(rec.timings().recognition_ms > 0);
        auto const again = rec.classify(image, face.box);
        CHECK(again.probabilities == face.probabilities);
        // Searching only near the face finds it again; far from it, nothing.
        std::vector<cv::Rect> const hint{face.box};
        auto const near = rec.recognize_near(image, hint);
        REQUIRE(near.size() == 1);
        CHECK(mien::iou(near[0].box, face.box) > 0.6);
        cv::Rect const corner(0, 0, std::max(24, face.box.width / 4), std::max(24, face.box.width / 4));
        if ((corner & face.crop).area() == 0) CHECK(rec.recognize_near(image, std::vector<cv::Rect>{corner}).empty());
    }
}

TEST_CASE("recognizer: the search near a face covers the sizes of near_face_fractions, no smaller") {
    MIEN_REQUIRE_DATA_SET(faces, "faces");
    mien::recognizer<> rec(shipped);  // near_face_fractions 0.4 to 1 of a region twice the hint's side
    mien::recognizer_options wide;
    wide.near_face_fractions = {0.2, 1.0};
    mien::recognizer<> wide_rec(shipped, wide);
    std::size_t photos = 0, shrunk_found = 0, small_missed = 0, small_found_wide = 0;
    for (auto const& name : mien::testing::one_face_photos()) {
        CAPTURE(name);
        cv::Mat photo = cv::imread((faces / name).string(), cv::IMREAD_COLOR);
        REQUIRE_FALSE(photo.empty());
        cv::Rect const box = rec.recognize(photo).at(0).box;
        // The face at about 80 px, with a plain border wide enough that no searched region is cut.
        double const k = 80.0 / box.width;
        cv::resize(photo, photo, cv::Size(), k, k, cv::INTER_AREA);
        cv::Mat image;
        cv::copyMakeBorder(photo, image, 240, 240, 240, 240, cv::BORDER_CONSTANT, cv::Scalar(128, 128, 128));
        cv::Rect const face(int(std::lround(box.x * k)) + 240, int(std::lround(box.y * k)) + 240, 80, 80);
        auto const around = [&](double scale) {  // the face's box scaled about its centre
            int const side = int(std::lround(face.width * scale));
            return std::vector<cv::Rect>{{face.x + face.width / 2 - side / 2, face.y + face.height / 2 - side / 2, side, side}};
        };
        auto const hit = [&](auto const& found) {
            return std::any_of(found.begin(), found.end(), [&](auto const& f) { return mien::iou(f.box, face) > 0.5; });
        };
        ++photos;
        // The face at 0.8 of the hint (it shrank by a fifth since the last frame): 0.4 of the
        // region, within the band.
        shrunk_found += hit(rec.recognize_near(image, around(1.25)));
        // The face at half the hint: 0.25 of the region, under the band's smallest size: not looked
        // for, unless the band is widened.
        small_missed += !hit(rec.recognize_near(image, around(2.0)));
        small_found_wide += hit(wide_rec.recognize_near(image, around(2.0)));
    }
    CHECK(photos == 15);
    CHECK(shrunk_found >= photos - 1);
    CHECK(small_missed == photos);
    CHECK(small_found_wide >= photos - 3);  // 13 of 15 when written: a 30 px face, near the 24 px window
    mien::recognizer_options bad;
    bad.near_face_fractions = {0.6, 0.5};
    CHECK_THROWS_WITH_AS(mien::recognizer<>(shipped, bad), doctest::Contains("near_face_fractions must satisfy"), mien::error);
    bad = {};
    bad.near_scale_factor = 1.0;
    CHECK_THROWS_WITH_AS(mien::recognizer<>(shipped, bad), doctest::Contains("near_scale_factor must be above 1"), mien::error);
}
