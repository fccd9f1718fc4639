// face_tracker: identities across frames by IoU, probabilities averaged per track.
#include <doctest/doctest.h>

#include <vector>

#include <opencv2/core.hpp>

#include <mien/vision/face_tracker.hpp>

namespace {

mien::recognized_face face_at(int x, int y, int side, int label) {
    mien::recognized_face f;
    f.box = cv::Rect(x, y, side, side);
    f.probabilities.fill(0.0f);
    f.probabilities[std::size_t(label)] = 1.0f;
    f.label = label;
    return f;
}

}  // namespace

TEST_CASE("face_tracker: IoU of boxes") {
    CHECK(mien::iou(cv::Rect(0, 0, 10, 10), cv::Rect(0, 0, 10, 10)) == doctest::Approx(1.0));
    CHECK(mien::iou(cv::Rect(0, 0, 10, 10), cv::Rect(5, 0, 10, 10)) == doctest::Approx(50.0 / 150.0));
    CHECK(mien::iou(cv::Rect(0, 0, 10, 10), cv::Rect(20, 20, 5, 5)) == 0.0);
    CHECK(mien::iou(cv::Rect(), cv::Rect()) == 0.0);
}

TEST_CASE("face_tracker: two moving faces keep their ids; a new face gets a new one; a lost track ends") {
    mien::face_tracker tracker({.min_iou = 0.3, .max_missed = 2, .smooth = 1});
    std::vector<mien::recognized_face> faces{face_at(0, 0, 100, 3), face_at(300, 0, 80, 6)};
    tracker.update(faces);
    CHECK(faces[0].id == 0);
    CHECK(faces[1].id == 1);
    for (int step = 1; step <= 5; ++step) {
        // Moving 8 px per frame, listed in the other order, and a third face appearing at step 3.
        std::vector<mien::recognized_face> next{face_at(300 + 8 * step, 4 * step, 80, 6), face_at(8 * step, 0, 100, 3)};
        if (step >= 3) next.push_back(face_at(500, 300, 60, 0));
        tracker.update(next);
        CAPTURE(step);
        CHECK(next[0].id == 1);
        CHECK(next[1].id == 0);
        if (step >= 3) CHECK(next[2].id == 2);
    }
    CHECK(tracker.active_tracks() == 3);
    // Only face 0 stays: the others survive max_missed (2) empty frames, then end.
    for (int step = 0; step < 3; ++step) {
        std::vector<mien::recognized_face> only{face_at(48, 0, 100, 3)};
        tracker.update(only);
        CHECK(only[0].id == 0);
    }
    CHECK(tracker.active_tracks() == 1);
    // A face where track 1 was is now someone new.
    std::vector<mien::recognized_face> back{face_at(48, 0, 100, 3), face_at(340, 20, 80, 6)};
    tracker.update(back);
    CHECK(back[1].id == 3);
    tracker.reset();
    CHECK(tracker.active_tracks() == 0);
}

TEST_CASE("face_tracker: smoothing averages a track's last N frames and relabels") {
    mien::face_tracker tracker({.min_iou = 0.3, .max_missed = 5, .smooth = 3});
    int const labels[] = {3, 3, 4, 3, 4, 4, 4};
    std::vector<int> smoothed;
    for (int label : labels) {
        std::vector<mien::recognized_face> f{face_at(10, 10, 50, label)};
        tracker.update(f);
        smoothed.push_back(f[0].label);
        float sum = 0;
        for (float p : f[0].probabilities) sum += p;
        CHECK(sum == doctest::Approx(1.0f));
    }
    // Means over (3), (3 3), (3 3 4), (3 4 3), (4 3 4), (3 4 4), (4 4 4): the single 4 is ignored.
    CHECK(smoothed == std::vector<int>{3, 3, 3, 3, 4, 4, 4});
    CHECK_THROWS_AS(mien::face_tracker({.smooth = 0}), mien::error);
}

TEST_CASE("face_tracker: at most max_tracks tracks; the longest-missed one gives way, a face stays untracked when none can") {
    mien::face_tracker tracker({.min_iou = 0.3, .max_missed = 5, .smooth = 2, .max_tracks = 2});
    auto face_at = [](int x) {
        mien::recognized_face f;
        f.box = cv::Rect(x, 0, 40, 40);
        f.probabilities[0] = 1.0f;
        f.label = 0;
        return f;
    };
    std::vector<mien::recognized_face> two{face_at(0), face_at(100)};
    tracker.update(two);
    CHECK(two[0].id == 0);
    CHECK(two[1].id == 1);
    std::vector<mien::recognized_face> three{face_at(0), face_at(100), face_at(200)};
    tracker.update(three);  // both tracks seen this frame: no room for a third
    CHECK(three[0].id == 0);
    CHECK(three[1].id == 1);
    CHECK(three[2].id == -1);
    std::vector<mien::recognized_face> moved{face_at(0), face_at(300)};
    tracker.update(moved);  // track 1 missed once: it gives its slot to the new face
    CHECK(moved[0].id == 0);
    CHECK(moved[1].id == 2);
    CHECK(tracker.active_tracks() == 2);
    std::vector<cv::Rect> boxes;
    tracker.boxes(0, boxes);
    CHECK(boxes.size() == 2);
    CHECK_THROWS_AS(mien::face_tracker({.max_tracks = 0}), mien::error);
}
