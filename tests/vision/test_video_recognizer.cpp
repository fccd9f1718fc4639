// video_recognizer: the whole-frame search spread over frames finds what one whole-frame search
// finds, within search_parts frames, and keeps it with the search near tracked faces.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mien/vision/video_recognizer.hpp>

#include "support/data_dir.hpp"
#include "support/face_photos.hpp"

namespace {
std::string const shipped = std::string(MIEN_SOURCE_DIR) + "/models/paper.mien";
}

TEST_CASE("video_recognizer: a still face is found within search_parts frames, then on every frame") {
    MIEN_REQUIRE_DATA_SET(faces, "faces");
    mien::video_recognizer<> video(shipped, {}, {.search_parts = 6});
    for (std::string const name : {"WuJie1010_1.jpg", "vinayakvivek_happy_face.jpg", "daanjiri_sad.jpeg"}) {
        CAPTURE(name);
        cv::Mat image = cv::imread((faces / name).string(), cv::IMREAD_COLOR);
        REQUIRE_FALSE(image.empty());
        cv::resize(image, image, cv::Size(640, 480), 0, 0, cv::INTER_AREA);
        auto const whole = video.recognizer().recognize(image);  // one whole-frame search
        REQUIRE_FALSE(whole.empty());
        cv::Rect const largest = whole[0].box;
        video.reset();
        std::size_t first = 100;
        int id = -1;
        for (std::size_t frame = 0; frame < 18; ++frame) {
            auto const found = video.process(image);
            CHECK(video.last_part() == frame % 6);
            auto const it = std::find_if(found.begin(), found.end(), [&](auto const& f) { return mien::iou(f.box, largest) > 0.6; });
            if (it == found.end()) {
                CHECK(first == 100);  // once found, never lost on a still frame
                continue;
            }
            if (first == 100) {
                first = frame;
                id = it->id;
            }
            CHECK(it->id == id);  // one track all along
            CHECK(video.timings().faces == found.size());
            CHECK(video.timings().frame_ms >= video.timings().detection_ms);
        }
        CHECK(first < 6);
    }
}

TEST_CASE("video_recognizer: a face moving across the frame is followed") {
    MIEN_REQUIRE_DATA_SET(faces, "faces");
    cv::Mat const photo = cv::imread((faces / "WuJie1010_1.jpg").string(), cv::IMREAD_COLOR);
    REQUIRE_FALSE(photo.empty());
    cv::Mat face;
    cv::resize(photo, face, cv::Size(220, 220 * photo.rows / photo.cols), 0, 0, cv::INTER_AREA);
    mien::video_recognizer<> video(shipped);  // the defaults
    std::size_t with_face = 0;
    int const frames = 40;
    for (int i = 0; i < frames; ++i) {
        cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(90, 110, 100));
        int const x = 20 + 9 * i;  // 9 px per frame, the photo's face about 100 px wide
        face.copyTo(frame(cv::Rect(x, 120, face.cols, std::min(face.rows, 360))));
        with_face += !video.process(frame).empty();
    }
    // Found within the first search_parts frames, then kept on nearly every frame.
    CHECK(with_face >= std::size_t(frames) - mien::video_options{}.search_parts - 2);
    CHECK(video.tracker().active_tracks() >= 1);
    CHECK_THROWS_AS(mien::video_recognizer<>(shipped, {}, {.search_parts = 0}), mien::error);
}
