// mien's own per-frame work of the real-time pipeline allocates nothing once the first frames
// have sized its buffers: gray conversion, crops, the network, tracking, the overlay, the frame
// statistics. Every allocation of the process is counted, OpenCV's included (malloc is replaced
// in this test program: support/malloc_counter.hpp). OpenCV's cascade search does allocate on
// every call (its pyramid, window lists, grouping); that is measured and printed, not hidden.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mien/vision/face_tracker.hpp>
#include <mien/vision/frame_stats.hpp>
#include <mien/vision/overlay.hpp>
#include <mien/vision/recognizer.hpp>
#include <mien/vision/video_recognizer.hpp>

#include "support/data_dir.hpp"
#include "support/malloc_counter.hpp"

namespace {
std::string const shipped = std::string(MIEN_SOURCE_DIR) + "/models/paper.mien";

// A 640x480 BGR frame with the photo's face at x (the face moves between frames).
cv::Mat frame_with(cv::Mat const& face, int x) {
    cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(90, 110, 100));
    face.copyTo(frame(cv::Rect(x, 100, face.cols, face.rows)));
    return frame;
}
}  // namespace

TEST_CASE("no allocation: crop, network, tracking, overlay and statistics of a video frame, after the first") {
    if (!MIEN_MALLOC_COUNTER) {
        MESSAGE("skipped: malloc is not replaced in this build (a sanitizer, or not glibc)");
        return;
    }
    MIEN_REQUIRE_DATA_SET(faces, "faces");
    cv::Mat const photo = cv::imread((faces / "WuJie1010_1.jpg").string(), cv::IMREAD_COLOR);
    REQUIRE_FALSE(photo.empty());
    cv::Mat face;
    cv::resize(photo, face, cv::Size(240, 240 * photo.rows / photo.cols), 0, 0, cv::INTER_AREA);
    face = face(cv::Rect(0, 0, 240, std::min(face.rows, 360))).clone();
    std::vector<cv::Mat> frames;
    for (int i = 0; i < 12; ++i) frames.push_back(frame_with(face, 40 + 20 * i));

    mien::recognizer<> rec(shipped);
    auto const& found = rec.recognize(frames[0]);  // where the face is (detection: not counted below)
    REQUIRE(found.size() == 1);
    cv::Rect box = found[0].box;
    mien::face_tracker tracker({.smooth = 5});
    mien::overlay const draw(frames[0].size());
    mien::frame_stats stats;
    std::vector<mien::recognized_face> tracked;
    tracked.reserve(8);
    cv::Mat work;
    frames[0].copyTo(work);

    // Everything the pipeline does after the detector, for one frame.
    auto const after_detection = [&](cv::Mat const& frame, cv::Rect const& b) {
        frame.copyTo(work);  // same size: cv::Mat reuses its pixels
        auto const& faces_now = rec.classify(frame, std::span<cv::Rect const>(&b, 1));  // gray, crop, network
        tracked.assign(faces_now.begin(), faces_now.end());
        tracker.update(std::span<mien::recognized_face>(tracked));
        for (auto const& f : tracked) draw.face(work, f);
        char line[96];
        std::snprintf(line, sizeof line, "frame %.1f ms (p99 %.1f ms)", 12.5, stats.stage(mien::stage::frame).percentile(0.99));
        draw.status(work, line);
        stats.add({.gray_ms = rec.timings().gray_ms, .recognition_ms = rec.timings().recognition_ms, .frame_ms = 10, .faces = 1});
    };
    for (int i = 0; i < 2; ++i) after_detection(frames[std::size_t(i)], box + cv::Point(20 * i, 0));  // the first frames size the buffers

    std::size_t const before = mien::testing::malloc_count();
    for (std::size_t i = 2; i < frames.size(); ++i) after_detection(frames[i], box + cv::Point(20 * int(i), 0));
    std::size_t const allocations = mien::testing::malloc_count() - before;
    CHECK(allocations == 0);
    CHECK(tracked.size() == 1);
    CHECK(tracked[0].id == 0);  // the same track all along: the work was really done
    CHECK(cv::countNonZero(work.reshape(1) != frames.back().reshape(1)) > 0);  // and drawn

    // The counter does see OpenCV's and the standard library's allocations.
    std::size_t const probe = mien::testing::malloc_count();
    { cv::Mat fresh(100, 100, CV_8UC1); }
    { std::vector<int> v(100); }
    CHECK(mien::testing::malloc_count() - probe >= 2);

    // Detection: OpenCV's cascade allocates on every call; how much, for the record (after a
    // first call, which loads the near search's cascade).
    (void)rec.recognize_near(frames[4], std::span<cv::Rect const>(&box, 1));
    std::size_t const d0 = mien::testing::malloc_count();
    (void)rec.recognize_near(frames[5], std::span<cv::Rect const>(&box, 1));
    std::size_t const near_allocations = mien::testing::malloc_count() - d0;
    std::size_t const d1 = mien::testing::malloc_count();
    (void)rec.recognize_part(frames[5], std::span<cv::Rect const>(&box, 1), 3, 8);
    MESSAGE("OpenCV's cascade: " << near_allocations << " allocations for a search near one face, "
                                 << mien::testing::malloc_count() - d1 << " for that plus one part of eight of the whole frame");
}

TEST_CASE("no allocation: video_recognizer's own work around the detector stays bounded") {
    if (!MIEN_MALLOC_COUNTER) {
        MESSAGE("skipped: malloc is not replaced in this build");
        return;
    }
    // The whole process() on frames without a face (the detector runs, finds nothing): the
    // allocations per frame are OpenCV's only, so they do not grow with the frame count.
    mien::video_recognizer<> video(shipped);
    cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(120, 120, 120));
    for (int i = 0; i < 16; ++i) (void)video.process(frame);  // two full cycles of the search
    std::size_t const a = mien::testing::malloc_count();
    for (int i = 0; i < 8; ++i) (void)video.process(frame);
    std::size_t const one_cycle = mien::testing::malloc_count() - a;
    std::size_t const b = mien::testing::malloc_count();
    for (int i = 0; i < 8; ++i) (void)video.process(frame);
    std::size_t const next_cycle = mien::testing::malloc_count() - b;
    MESSAGE("video_recognizer::process on an empty 640x480 frame: " << one_cycle << " allocations per 8 frames (OpenCV's cascade)");
    CHECK(next_cycle == one_cycle);  // a steady state: nothing of mien's grows
}
