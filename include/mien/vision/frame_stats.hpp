// mien/vision/frame_stats.hpp -- how long each stage of a video pipeline took, frame by frame:
// mean, p50, p99 and max, in memory fixed at construction (no OpenCV).
//
//   mien::frame_stats stats;
//   stats.add(video.timings());                   // once per frame (mien::video_recognizer)
//   auto const& f = stats.stage(mien::stage::frame);
//   std::printf("p99 %.1f ms, %.1f frames/s\n", f.percentile(0.99), stats.frames_per_second());
//
// A real-time user needs the slow frames, not only the average: one 100 ms frame in every ten
// stalls a live camera although the mean still reads 40 frames/s. A camera may run for hours, so
// samples are not kept: each stage has a histogram of 1 %-wide logarithmic bins from 1 µs to
// 100 s, which bounds a percentile's error to 1 % of its value; mean and max are exact.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mien {

// A latency distribution in fixed memory (about 15 KB).
class latency_histogram {
public:
    static constexpr double lowest_ms = 1e-3;  // 1 µs: every sample below lands in the first bin
    static constexpr double ratio = 1.01;      // bin width: 1 % of its value
    static constexpr std::size_t bins = 1852;  // 1e-3 * 1.01^1852 > 1e5 ms

    void add(double ms) {
        if (!(ms >= 0)) ms = 0;  // NaN or a clock step backwards: count it as instant
        ++count_;
        sum_ += ms;
        if (ms > max_) max_ = ms;
        ++counts_[bin_of(ms)];
    }
    std::size_t count() const { return count_; }
    double mean() const { return count_ ? sum_ / double(count_) : 0.0; }
    double max() const { return max_; }
    double sum() const { return sum_; }
    // The q-quantile (0.5: median, 0.99), the geometric centre of its bin, never above max().
    double percentile(double q) const {
        if (count_ == 0) return 0.0;
        // Nearest rank: the smallest sample with at least q of all samples at or below it.
        double const wanted = std::ceil(q * double(count_));
        std::size_t const rank = wanted < 1 ? 1 : std::size_t(wanted);
        std::size_t seen = 0;
        for (std::size_t b = 0; b < bins; ++b) {
            seen += counts_[b];
            if (seen >= rank) {
                double const centre = b == 0 ? lowest_ms : lowest_ms * std::pow(ratio, double(b) - 0.5);
                return centre < max_ ? centre : max_;
            }
        }
        return max_;
    }
    void reset() { *this = latency_histogram{}; }

private:
    static std::size_t bin_of(double ms) {
        if (ms <= lowest_ms) return 0;
        double const b = std::ceil(std::log(ms / lowest_ms) / std::log(ratio));
        return b >= double(bins - 1) ? bins - 1 : std::size_t(b);
    }
    std::array<std::uint32_t, bins> counts_{};
    std::size_t count_ = 0;
    double sum_ = 0, max_ = 0;
};

// The stages of one frame of mien::video_recognizer (and of mien-detect, which adds drawing).
enum class stage : std::size_t {
    gray,           // the frame to 8-bit gray
    detection,      // the face search: near the tracked faces and one part of the whole frame
    preprocessing,  // crops: square, resize, to floats (all faces)
    recognition,    // the network (all faces)
    tracking,       // ids and smoothing
    drawing,        // the overlay (boxes, labels, bars, status line)
    frame,          // the whole frame: the stages above and the glue between them
    per_face,       // recognition divided by the faces of the frame (frames with a face only)
};
inline constexpr std::size_t stage_count = 8;
inline constexpr std::array<std::string_view, stage_count> stage_names{
    "gray", "detection", "preprocessing", "recognition", "tracking", "drawing", "frame", "per_face"};

// Milliseconds per stage of one frame.
struct frame_timings {
    double gray_ms = 0, detection_ms = 0, preprocessing_ms = 0, recognition_ms = 0, tracking_ms = 0, drawing_ms = 0;
    double frame_ms = 0;  // measured around the whole frame, so it also holds the glue
    std::size_t faces = 0;
};

// One histogram per stage over a run, and the frames with a face.
class frame_stats {
public:
    void add(frame_timings const& t) {
        at(stage::gray).add(t.gray_ms);
        at(stage::detection).add(t.detection_ms);
        at(stage::preprocessing).add(t.preprocessing_ms);
        at(stage::recognition).add(t.recognition_ms);
        at(stage::tracking).add(t.tracking_ms);
        at(stage::drawing).add(t.drawing_ms);
        at(stage::frame).add(t.frame_ms);
        if (t.faces > 0) {
            at(stage::per_face).add(t.recognition_ms / double(t.faces));
            ++frames_with_faces_;
        }
        faces_ += t.faces;
    }
    latency_histogram const& stage(mien::stage s) const { return stages_[std::size_t(s)]; }
    std::size_t frames() const { return stage(stage::frame).count(); }
    std::size_t frames_with_faces() const { return frames_with_faces_; }
    std::size_t faces() const { return faces_; }
    // 1000 / mean frame time: the rate the pipeline sustains, decoding and display not counted.
    double frames_per_second() const {
        double const mean = stage(stage::frame).mean();
        return mean > 0 ? 1000.0 / mean : 0.0;
    }
    void reset() { *this = frame_stats{}; }

private:
    latency_histogram& at(mien::stage s) { return stages_[std::size_t(s)]; }
    std::array<latency_histogram, stage_count> stages_{};
    std::size_t frames_with_faces_ = 0, faces_ = 0;
};

}  // namespace mien
