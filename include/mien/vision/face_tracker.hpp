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
#include <span>
#include <vector>

#include <opencv2/core.hpp>

#include "../core/error.hpp"
#include "recognizer.hpp"

namespace mien {

struct face_tracker_options {
    double min_iou = 0.3;     // a face continues a track only if their boxes overlap this much
    int max_missed = 10;      // frames a track survives without its face (a blink of the detector)
    std::size_t smooth = 1;   // frames averaged per track (1: no smoothing)
    std::size_t max_tracks = 32;  // tracks alive at once; their memory is taken at construction
};

class face_tracker {
public:
    explicit face_tracker(face_tracker_options o = {}) : options_(o) {
        if (options_.smooth == 0) fail("face_tracker: smooth must be at least 1 frame");
        if (options_.max_missed < 0) fail("face_tracker: max_missed must be >= 0, found %d", options_.max_missed);
        if (options_.max_tracks == 0) fail("face_tracker: max_tracks must be at least 1");
        // Everything update() needs, taken once: a video loop then runs without the heap.
        tracks_.reserve(options_.max_tracks);
        history_.resize(options_.max_tracks * options_.smooth);
        slot_used_.assign(options_.max_tracks, false);
        pairs_.reserve(options_.max_tracks * 8);
        track_of_.reserve(64);
        taken_.reserve(options_.max_tracks);
    }

    // Gives each face its track's id and (with smooth > 1) its smoothed probabilities and label.
    // When max_tracks tracks are alive, a new face takes the slot of the longest-missed track, or
    // stays untracked (id -1) if every track was seen this frame.
    void update(std::span<recognized_face> faces) {
        pairs_.clear();
        for (std::size_t t = 0; t < tracks_.size(); ++t)
            for (std::size_t f = 0; f < faces.size(); ++f)
                if (double const o = iou(tracks_[t].box, faces[f].box); o >= options_.min_iou) pairs_.push_back({o, t, f});
        // Highest IoU first; ties in (track, face) order, as they were generated.
        std::sort(pairs_.begin(), pairs_.end(), [](pair const& a, pair const& b) {
            if (a.iou != b.iou) return a.iou > b.iou;
            return a.track != b.track ? a.track < b.track : a.face < b.face;
        });
        track_of_.assign(faces.size(), -1);
        taken_.assign(tracks_.size(), false);
        for (auto const& p : pairs_)
            if (!taken_[p.track] && track_of_[p.face] < 0) {
                taken_[p.track] = true;
                track_of_[p.face] = int(p.track);
            }
        for (std::size_t t = 0; t < tracks_.size(); ++t)
            if (!taken_[t]) ++tracks_[t].missed;
        for (std::size_t f = 0; f < faces.size(); ++f) {
            if (track_of_[f] < 0) track_of_[f] = start_track();
            if (track_of_[f] < 0) {  // no room: untracked this frame
                faces[f].id = -1;
                continue;
            }
            track& tr = tracks_[std::size_t(track_of_[f])];
            tr.box = faces[f].box;
            tr.missed = 0;
            auto* const history = &history_[tr.slot * options_.smooth];
            history[(tr.first + tr.count) % options_.smooth] = faces[f].probabilities;
            if (tr.count < options_.smooth) ++tr.count;
            else tr.first = (tr.first + 1) % options_.smooth;
            faces[f].id = tr.id;
            if (options_.smooth > 1) {
                std::array<float, max_classes> mean{};  // classes past the model's stay 0
                for (std::size_t i = 0; i < tr.count; ++i)
                    for (std::size_t k = 0; k < max_classes; ++k) mean[k] += history[i][k];
                for (float& v : mean) v /= float(tr.count);
                faces[f].probabilities = mean;
                faces[f].label = top_label(std::span<float const>(mean.data(), faces[f].classes));
            }
        }
        end_lost_tracks();
    }
    void update(std::vector<recognized_face>& faces) { update(std::span<recognized_face>(faces)); }

    // The boxes of the tracks seen within the last `max_missed` frames (0: this frame), for a
    // search near them in the next frame; `out` is cleared first.
    void boxes(int max_missed, std::vector<cv::Rect>& out) const {
        out.clear();
        for (track const& t : tracks_)
            if (t.missed <= max_missed) out.push_back(t.box);
    }

    void reset() {
        tracks_.clear();
        slot_used_.assign(options_.max_tracks, false);
        next_id_ = 0;
    }
    std::size_t active_tracks() const { return tracks_.size(); }
    face_tracker_options const& options() const { return options_; }

private:
    struct track {
        int id;
        cv::Rect box;
        int missed;
        std::size_t slot, first, count;  // history: history_[slot * smooth ...], a ring of count entries from first
    };
    struct pair {
        double iou;
        std::size_t track, face;
    };

    // A new track in a free slot (evicting the longest-missed one when all are taken); its
    // index in tracks_, or -1 when every track was seen this frame.
    int start_track() {
        if (tracks_.size() == options_.max_tracks) {
            auto const oldest = std::max_element(tracks_.begin(), tracks_.end(),
                                                 [](track const& a, track const& b) { return a.missed < b.missed; });
            if (oldest->missed == 0) return -1;
            slot_used_[oldest->slot] = false;
            // Keep track_of_ valid: the tracks after the erased one move down by one.
            std::size_t const gone = std::size_t(oldest - tracks_.begin());
            for (int& t : track_of_)
                if (t > int(gone)) --t;
            taken_.erase(taken_.begin() + std::ptrdiff_t(gone));
            tracks_.erase(oldest);
        }
        std::size_t slot = 0;
        while (slot_used_[slot]) ++slot;
        slot_used_[slot] = true;
        tracks_.push_back(track{next_id_++, {}, 0, slot, 0, 0});
        taken_.push_back(true);
        return int(tracks_.size() - 1);
    }

    void end_lost_tracks() {
        for (track const& t : tracks_)
            if (t.missed > options_.max_missed) slot_used_[t.slot] = false;
        std::erase_if(tracks_, [&](track const& t) { return t.missed > options_.max_missed; });
    }

    face_tracker_options options_;
    std::vector<track> tracks_;
    std::vector<std::array<float, max_classes>> history_;  // max_tracks * smooth rows
    std::vector<bool> slot_used_;
    std::vector<pair> pairs_;    // scratch of update(), capacity kept
    std::vector<int> track_of_;  // face -> track index
    std::vector<bool> taken_;    // track -> matched this frame
    int next_id_ = 0;
};

}  // namespace mien
