// mien/vision/face_tracker.hpp -- a face keeps its identity from frame to frame, and its label
// stops flickering (OpenCV).
//
//   mien::face_tracker tracker({.smooth = 5});
//   auto faces = rec.recognize(frame);          // mien/vision/recognizer.hpp
//   tracker.update(faces);                      // sets faces[i].id; probabilities averaged
//
// Matching: the intersection over union (IoU) of every (track, face) pair of boxes; pairs are
// taken greedily, highest IoU first, down to min_iou; a face left unmatched starts a new track
// (ids count up from 0); a track not seen for more than max_missed frames is dropped. At 30
// frames per second a face moves little between frames, so greedy IoU is enough (no motion
// model). Smoothing: each face's probabilities become the mean over its track's last `smooth`
// frames (this one included) and its label the largest of them; smooth 1 changes nothing.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <deque>
#include <tuple>
#include <vector>

#include <opencv2/core.hpp>

#include "../core/error.hpp"
#include "recognizer.hpp"

namespace mien {

struct face_tracker_options {
    double min_iou = 0.3;     // a face continues a track only if their boxes overlap this much
    int max_missed = 10;      // frames a track survives without its face (a blink of the detector)
    std::size_t smooth = 1;   // frames averaged per track (1: no smoothing)
};

class face_tracker {
public:
    explicit face_tracker(face_tracker_options o = {}) : options_(o) {
        if (options_.smooth == 0) fail("face_tracker: smooth must be at least 1 frame");
        if (options_.max_missed < 0) fail("face_tracker: max_missed must be >= 0, found %d", options_.max_missed);
    }

    // Gives each face its track's id and (with smooth > 1) its smoothed probabilities and label.
    void update(std::vector<recognized_face>& faces) {
        std::vector<std::tuple<double, std::size_t, std::size_t>> pairs;  // (iou, track, face)
        for (std::size_t t = 0; t < tracks_.size(); ++t)
            for (std::size_t f = 0; f < faces.size(); ++f)
                if (double const o = iou(tracks_[t].box, faces[f].box); o >= options_.min_iou) pairs.emplace_back(o, t, f);
        std::stable_sort(pairs.begin(), pairs.end(), [](auto const& a, auto const& b) { return std::get<0>(a) > std::get<0>(b); });
        std::vector<int> track_of(faces.size(), -1);
        std::vector<bool> taken(tracks_.size(), false);
        for (auto const& [o, t, f] : pairs)
            if (!taken[t] && track_of[f] < 0) {
                taken[t] = true;
                track_of[f] = int(t);
            }
        for (std::size_t t = 0; t < tracks_.size(); ++t)
            if (!taken[t]) ++tracks_[t].missed;
        for (std::size_t f = 0; f < faces.size(); ++f) {
            if (track_of[f] < 0) {
                track_of[f] = int(tracks_.size());
                tracks_.push_back(track{next_id_++, {}, 0, {}});
            }
            track& tr = tracks_[std::size_t(track_of[f])];
            tr.box = faces[f].box;
            tr.missed = 0;
            tr.history.push_back(faces[f].probabilities);
            if (tr.history.size() > options_.smooth) tr.history.pop_front();
            faces[f].id = tr.id;
            if (options_.smooth > 1) {
                std::array<float, expression_count> mean{};
                for (auto const& p : tr.history)
                    for (std::size_t k = 0; k < expression_count; ++k) mean[k] += p[k];
                for (float& v : mean) v /= float(tr.history.size());
                faces[f].probabilities = mean;
                faces[f].label = top_label(mean);
            }
        }
        std::erase_if(tracks_, [&](track const& t) { return t.missed > options_.max_missed; });
    }

    void reset() {
        tracks_.clear();
        next_id_ = 0;
    }
    std::size_t active_tracks() const { return tracks_.size(); }
    face_tracker_options const& options() const { return options_; }

private:
    struct track {
        int id;
        cv::Rect box;
        int missed;
        std::deque<std::array<float, expression_count>> history;
    };
    face_tracker_options options_;
    std::vector<track> tracks_;
    int next_id_ = 0;
};

}  // namespace mien
