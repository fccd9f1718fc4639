// mien/data/dataset.hpp -- a labelled set of square grayscale faces held in memory.
//
// Pixels stay 8-bit (FER2013's 28,709 training faces take 66 MB this way, 264 MB as floats);
// to_float converts one face to the network's [0, 1] input on the fly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/error.hpp"

namespace mien {

struct dataset {
    int side = 48;                      // faces are side x side
    std::vector<std::uint8_t> pixels;   // size() * side * side, row-major per face
    std::vector<std::int32_t> labels;   // class index per face
    std::vector<std::string> sources;   // file (or "file:line") each face came from
    std::vector<std::string> subjects;  // subject id per face where the data set has one, else ""
    std::size_t skipped = 0;            // bad entries skipped on request (see loader options)

    std::size_t size() const { return labels.size(); }
    std::size_t face_size() const { return std::size_t(side) * std::size_t(side); }
    std::uint8_t const* face(std::size_t i) const { return pixels.data() + i * face_size(); }

    void add(std::uint8_t const* face_pixels, std::int32_t label, std::string source, std::string subject = {}) {
        pixels.insert(pixels.end(), face_pixels, face_pixels + face_size());
        labels.push_back(label);
        sources.push_back(std::move(source));
        subjects.push_back(std::move(subject));
    }

    // Face i as floats in [0, 1].
    void to_float(std::size_t i, float* out) const {
        std::uint8_t const* p = face(i);
        for (std::size_t k = 0; k < face_size(); ++k) out[k] = float(p[k]) / 255.0f;
    }

    // Faces per class.
    std::vector<std::size_t> class_counts(std::size_t classes) const {
        std::vector<std::size_t> counts(classes, 0);
        for (auto l : labels) counts[std::size_t(l)]++;
        return counts;
    }

    // The subset with the given indices (for folds).
    dataset subset(std::vector<std::size_t> const& indices) const {
        dataset d;
        d.side = side;
        for (auto i : indices) d.add(face(i), labels[i], sources[i], subjects[i]);
        return d;
    }
};

}  // namespace mien
