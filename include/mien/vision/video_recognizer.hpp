// mien/vision/video_recognizer.hpp -- faces and expressions frame after frame from a camera or a
// video, within a frame budget: no frame pays for a whole-frame face search (OpenCV).
//
//   mien::video_recognizer<> video("models/paper.mien", {}, {.search_parts = 8, .tracker = {.smooth = 5}});
//   for (cv::Mat frame; cap.read(frame);)
//       for (auto const& face : video.process(frame))       // ids from the tracker, smoothed labels
//           std::printf("#%d %s\n", face.id, face.name().data());
//
// Why: a whole-frame cascade search costs several times a 30 frames/s budget (docs/RECOGNIZER.md,
// "Real time"), and searching it only every N frames makes those frames stall a live camera.
// So each frame gets (1) a search near every face tracked in the last frames (hint_missed), at
// the scale it had: cheap, and it follows faces that move; and (2) one part of the whole-frame
// search, a band of face sizes (face_detector::detect_part), cut so that the parts cost about
// the same and search_parts frames cover every size once. A face entering the picture is found
// within search_parts frames (a third of a second at 8 parts and 25 frames/s); once found,
// it is followed every frame. Then each face is cropped and classified (recognizer) and the
// tracker (face_tracker) gives ids and smooths the labels.
//
// After the first frames nothing here allocates except inside OpenCV's cascade and its resizes
// (the detection stage); tests/vision/test_no_allocation_vision.cpp counts it.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "../core/error.hpp"
#include "../models/paper.hpp"
#include "face_tracker.hpp"
#include "frame_stats.hpp"
#include "recognizer.hpp"

namespace mien {

struct video_options {
    // The whole-frame search is spread over this many frames (1: all of it on every frame).
    std::size_t search_parts = 8;
    // Search near the faces tracked within the last hint_missed + 1 frames (a face the detector
    // missed once is looked for again where it was).
    int hint_missed = 2;
    face_tracker_options tracker{};
};

// The stages a recognizer call timed, as a frame's timings (tracking, drawing and the frame
// total are the caller's to add).
inline frame_timings frame_timings_of(recognizer_timings const& r) {
    frame_timings t;
    t.gray_ms = r.gray_ms;
    t.detection_ms = r.detection_ms;
    t.preprocessing_ms = r.preprocessing_ms;
    t.recognition_ms = r.recognition_ms;
    t.faces = r.faces;
    return t;
}

template <class Net = models::paper<>>
class video_recognizer {
public:
    using network_type = Net;

    explicit video_recognizer(std::filesystem::path const& weights, recognizer_options r = {}, video_options v = {})
        : recognizer_(weights, std::move(r)), tracker_(v.tracker), options_(validated(v)) {
        reserve();
    }
    explicit video_recognizer(std::unique_ptr<Net> net, recognizer_options r = {}, video_options v = {})
        : recognizer_(std::move(net), std::move(r)), tracker_(v.tracker), options_(validated(v)) {
        reserve();
    }

    // The faces of the next frame of the video (8-bit gray, BGR or BGRA), largest first, with
    // ids and smoothed probabilities; timings() says where the time went.
    std::span<recognized_face const> process(cv::Mat const& frame) {
        auto const t0 = clock::now();
        part_ = frame_ % options_.search_parts;
        ++frame_;
        tracker_.boxes(options_.hint_missed, hints_);
        auto const& found = recognizer_.recognize_part(frame, hints_, part_, options_.search_parts);
        faces_.assign(found.begin(), found.end());
        auto const t1 = clock::now();
        tracker_.update(std::span<recognized_face>(faces_));
        timings_ = frame_timings_of(recognizer_.timings());
        timings_.tracking_ms = ms_since(t1);
        timings_.faces = faces_.size();
        timings_.frame_ms = ms_since(t0);
        return faces_;
    }

    // The faces and timings of the last frame (drawing_ms is 0: drawing is the caller's).
    std::span<recognized_face const> faces() const { return faces_; }
    frame_timings const& timings() const { return timings_; }
    // Which part of the whole-frame search the last frame ran (0 .. search_parts - 1).
    std::size_t last_part() const { return part_; }
    std::size_t hints() const { return hints_.size(); }

    // A new video: tracks and the search schedule start over.
    void reset() {
        tracker_.reset();
        recognizer_.forget_hits();
        frame_ = part_ = 0;
        faces_.clear();
    }

    video_options const& options() const { return options_; }
    mien::recognizer<Net>& recognizer() { return recognizer_; }
    face_tracker& tracker() { return tracker_; }

private:
    using clock = std::chrono::steady_clock;
    static double ms_since(clock::time_point t0) { return std::chrono::duration<double, std::milli>(clock::now() - t0).count(); }

    static video_options validated(video_options v) {
        if (v.search_parts == 0) fail("video_recognizer: search_parts must be at least 1");
        if (v.hint_missed < 0) fail("video_recognizer: hint_missed must be >= 0, found %d", v.hint_missed);
        return v;
    }
    void reserve() {
        faces_.reserve(64);
        hints_.reserve(options_.tracker.max_tracks);
    }

    mien::recognizer<Net> recognizer_;
    face_tracker tracker_;
    video_options options_;
    std::vector<recognized_face> faces_;  // the last frame's, tracked (capacity kept)
    std::vector<cv::Rect> hints_;
    std::size_t frame_ = 0, part_ = 0;
    frame_timings timings_;
};

namespace vision {
using ::mien::frame_timings_of;
using ::mien::video_options;
using ::mien::video_recognizer;
}  // namespace vision

}  // namespace mien
