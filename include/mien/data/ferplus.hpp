// mien/data/ferplus.hpp -- FER+ (Barsoum et al. 2016): ten taggers' votes for every FER2013 face.
//
//   auto votes = mien::load_ferplus_votes("../shared/data/ferplus");    // both CSVs, checked
//   auto v = votes.find("train/angry/Training_1426440.jpg");            // 10 counts, or nullptr
//   auto p = mien::ferplus_target(*v, mien::ferplus_protocol::majority); // 8 classes, or nullopt
//   auto q = mien::fer2013_soft_target(*v);                              // 7 FER2013 classes, or nullopt
//
// Two files (../shared/data/ferplus/README.md): fer2013new.csv (Usage, Image name, then the vote
// counts neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF, one
// row per fer2013.csv row) and fer2013new_to_fer2013_files.csv (csv_row, usage,
// ferplus_image_name, label, file, rmse, near_duplicate, label_ambiguous), which ties a row to
// an image of the FER2013 folders by pixels; `file` is relative to the FER2013 root. The two are
// cross-checked (usage and image name of every mapped row), because a mapping built against
// another copy of the votes would silently attach the wrong votes to every face.
//
// The protocols are those of the FER+ paper and its reference code (microsoft/FERPlus,
// ferplus.py _process_data): single votes are dropped first (a count of 1 becomes 0: one
// tagger alone is treated as noise); then
//   majority      a face is kept when its top class has more than half of the remaining votes,
//                 and is labelled with it (one-hot);
//   probability,  the remaining votes over the 8 emotions, normalised (the paper's
//   crossentropy  "probabilistic label drawing" draws a label from it per epoch, "cross-entropy"
//                 trains on it directly; the distribution is the same).
// Under every protocol a face whose top count is unknown or NF (not a face) is excluded; ties
// go to the emotion (the reference's argmax takes the first index, and emotions come first).
// One difference from the reference code, on purpose: for probability/crossentropy it keeps
// only the top one to three emotions covering 75 % of the votes and discards faces where they
// cover half or less; mien keeps every emotion that survived the single-vote rule, which is
// what the paper's text describes.
//
// Needs no OpenCV; the image loader is ferplus_folder.hpp.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../core/error.hpp"
#include "../models/labels.hpp"
#include "fer2013_csv.hpp"  // detail::split_commas, fer2013_usages

namespace mien {

// The FER+ classes (ferplus_class_names, models/labels.hpp) are in the order of fer2013new.csv.
// The vote columns: the 8 classes, then unknown and NF (not a face).
inline constexpr std::size_t ferplus_vote_count = 10;
using ferplus_votes = std::array<std::uint8_t, ferplus_vote_count>;

enum class ferplus_protocol { majority, probability, crossentropy };

inline ferplus_protocol parse_ferplus_protocol(std::string_view word) {
    if (word == "majority") return ferplus_protocol::majority;
    if (word == "probability") return ferplus_protocol::probability;
    if (word == "crossentropy" || word == "cross-entropy") return ferplus_protocol::crossentropy;
    fail("ferplus: unknown protocol '%.*s' (expected majority, probability or crossentropy)", int(word.size()), word.data());
}

// FER+ class k as a FER2013 class (angry, disgust, fear, happy, sad, surprise, neutral order),
// or -1 for contempt, which FER2013 does not have.
inline constexpr std::array<int, ferplus_class_count> ferplus_to_fer2013{6, 3, 5, 4, 0, 1, 2, -1};

// The votes with single votes dropped (counts of 1 set to 0).
inline ferplus_votes drop_single_votes(ferplus_votes v) {
    for (auto& c : v)
        if (c == 1) c = 0;
    return v;
}

// The 8-class target of a face under a protocol (votes as read; single votes are dropped
// here), or nullopt when the protocol excludes the face.
inline std::optional<std::array<float, ferplus_class_count>> ferplus_target(ferplus_votes const& raw, ferplus_protocol p) {
    ferplus_votes const v = drop_single_votes(raw);
    std::size_t top = 0, total = 0, emotions = 0;
    for (std::size_t k = 0; k < ferplus_vote_count; ++k) {
        total += v[k];
        if (v[k] > v[top]) top = k;  // strict: ties keep the first (an emotion before unknown / NF)
        if (k < ferplus_class_count) emotions += v[k];
    }
    if (total == 0 || top >= ferplus_class_count) return std::nullopt;
    std::array<float, ferplus_class_count> t{};
    if (p == ferplus_protocol::majority) {
        if (2 * std::size_t(v[top]) <= total) return std::nullopt;
        t[top] = 1.0f;
        return t;
    }
    for (std::size_t k = 0; k < ferplus_class_count; ++k) t[k] = float(double(v[k]) / double(emotions));
    return t;
}

// The FER+ votes of a face as a distribution over the 7 FER2013 classes, for soft targets on
// FER2013: single votes dropped, contempt, unknown and NF left out, the rest normalised.
// nullopt when no vote remains.
inline std::optional<std::array<float, 7>> fer2013_soft_target(ferplus_votes const& raw) {
    ferplus_votes const v = drop_single_votes(raw);
    std::array<double, 7> sum{};
    double total = 0;
    for (std::size_t k = 0; k < ferplus_class_count; ++k)
        if (ferplus_to_fer2013[k] >= 0) {
            sum[std::size_t(ferplus_to_fer2013[k])] += v[k];
            total += v[k];
        }
    if (total == 0) return std::nullopt;
    std::array<float, 7> t{};
    for (std::size_t k = 0; k < 7; ++k) t[k] = float(sum[k] / total);
    return t;
}

// One mapped face: its FER2013 file and the votes of its fer2013new.csv row.
struct ferplus_face {
    std::string file;         // relative to the FER2013 root, e.g. train/angry/Training_1426440.jpg
    std::string usage;        // Training or PublicTest
    std::size_t csv_row = 0;  // 0-based data row of fer2013new.csv (= fer2013.csv)
    std::string fer2013_label;
    ferplus_votes votes{};
    bool near_duplicate = false, label_ambiguous = false;
};

class ferplus_table {
public:
    std::vector<ferplus_face> faces;  // in the mapping file's order

    // The face of a FER2013 file (path relative to the FER2013 root, '/' separators), or null.
    ferplus_face const* find(std::string const& file) const {
        auto const it = by_file_.find(file);
        return it == by_file_.end() ? nullptr : &faces[it->second];
    }
    std::size_t size() const { return faces.size(); }

    // Builds the file index; a file mapped twice is an error (which votes would it get?).
    void index(char const* source = "ferplus_table") {
        by_file_.clear();
        for (std::size_t i = 0; i < faces.size(); ++i) {
            auto const [it, added] = by_file_.emplace(faces[i].file, i);
            if (!added)
                fail("load_ferplus_votes: %s: file %s is mapped twice (csv_row %zu and %zu)", source, faces[i].file.c_str(),
                     faces[it->second].csv_row, faces[i].csv_row);
        }
    }

private:
    std::unordered_map<std::string, std::size_t> by_file_;
};

namespace detail {

struct ferplus_row {
    std::string usage, image_name;
    ferplus_votes votes{};
};

inline std::ifstream open_ferplus_csv(std::filesystem::path const& path, std::string_view expected_header,
                                      std::string& line) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("load_ferplus_votes: cannot open %s", path.string().c_str());
    if (!std::getline(in, line)) fail("load_ferplus_votes: %s is empty (expected the header %.*s)", path.string().c_str(),
                                      int(expected_header.size()), expected_header.data());
    if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (trim(line) != expected_header)
        fail("load_ferplus_votes: %s:1: header '%s', expected '%.*s'", path.string().c_str(), std::string(trim(line)).c_str(),
             int(expected_header.size()), expected_header.data());
    return in;
}

template <class V>
bool parse_field(std::string_view text, V& out) {
    auto const r = std::from_chars(text.data(), text.data() + text.size(), out);
    return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

inline std::vector<ferplus_row> read_ferplus_votes_csv(std::filesystem::path const& path) {
    static constexpr std::string_view header =
        "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF";
    std::string line;
    std::ifstream in = open_ferplus_csv(path, header, line);
    std::vector<ferplus_row> rows;
    std::size_t line_number = 1;
    while (std::getline(in, line)) {
        ++line_number;
        if (trim(line).empty()) continue;
        auto const where = [&] { return path.string() + ":" + std::to_string(line_number); };
        auto const f = split_commas(line);
        if (f.size() != 2 + ferplus_vote_count)
            fail("load_ferplus_votes: %s: %zu columns, expected 12 (%.*s)", where().c_str(), f.size(), int(header.size()),
                 header.data());
        if (std::find(fer2013_usages.begin(), fer2013_usages.end(), f[0]) == fer2013_usages.end())
            fail("load_ferplus_votes: %s: Usage '%s', expected Training, PublicTest or PrivateTest", where().c_str(),
                 std::string(f[0]).c_str());
        ferplus_row r;
        r.usage = std::string(f[0]);
        r.image_name = std::string(f[1]);
        unsigned total = 0;
        for (std::size_t k = 0; k < ferplus_vote_count; ++k) {
            unsigned c = 0;
            if (!parse_field(f[2 + k], c) || c > 255)
                fail("load_ferplus_votes: %s: %s count '%s', expected an integer 0..255", where().c_str(),
                     k < ferplus_class_count ? std::string(ferplus_class_names[k]).c_str() : (k == 8 ? "unknown" : "NF"),
                     std::string(f[2 + k]).c_str());
            r.votes[k] = std::uint8_t(c);
            total += c;
        }
        if (total == 0) fail("load_ferplus_votes: %s: no votes at all (every count is 0)", where().c_str());
        rows.push_back(std::move(r));
    }
    if (rows.empty()) fail("load_ferplus_votes: %s has no data rows", path.string().c_str());
    return rows;
}

}  // namespace detail

// Reads <dir>/fer2013new.csv and <dir>/fer2013new_to_fer2013_files.csv and joins them: the
// votes of every mapped FER2013 file. Any malformed row, or a mapping row that disagrees with
// the votes file (row out of range, other usage, other image name, a file mapped twice), is an
// error naming the file and line.
inline ferplus_table load_ferplus_votes(std::filesystem::path const& dir) {
    auto const votes_path = dir / "fer2013new.csv", map_path = dir / "fer2013new_to_fer2013_files.csv";
    std::vector<detail::ferplus_row> const rows = detail::read_ferplus_votes_csv(votes_path);
    static constexpr std::string_view header = "csv_row,usage,ferplus_image_name,label,file,rmse,near_duplicate,label_ambiguous";
    std::string line;
    std::ifstream in = detail::open_ferplus_csv(map_path, header, line);
    ferplus_table t;
    std::size_t line_number = 1;
    while (std::getline(in, line)) {
        ++line_number;
        if (detail::trim(line).empty()) continue;
        std::string const where = map_path.string() + ":" + std::to_string(line_number);
        auto const f = detail::split_commas(line);
        if (f.size() != 8)
            fail("load_ferplus_votes: %s: %zu columns, expected 8 (%.*s)", where.c_str(), f.size(), int(header.size()),
                 header.data());
        ferplus_face face;
        if (!detail::parse_field(f[0], face.csv_row) || face.csv_row >= rows.size())
            fail("load_ferplus_votes: %s: csv_row '%s', expected a row number 0..%zu of %s", where.c_str(),
                 std::string(f[0]).c_str(), rows.size() - 1, votes_path.string().c_str());
        detail::ferplus_row const& r = rows[face.csv_row];
        if (f[1] != r.usage || f[2] != r.image_name)
            fail("load_ferplus_votes: %s: row %zu is '%s,%s' here but '%s,%s' in %s (the two files do not belong together)",
                 where.c_str(), face.csv_row, std::string(f[1]).c_str(), std::string(f[2]).c_str(), r.usage.c_str(),
                 r.image_name.c_str(), votes_path.string().c_str());
        if (f[4].empty()) fail("load_ferplus_votes: %s: empty file column, expected a path relative to the FER2013 root", where.c_str());
        int near = 0, ambiguous = 0;
        if (!detail::parse_field(f[6], near) || near < 0 || near > 1 || !detail::parse_field(f[7], ambiguous) ||
            ambiguous < 0 || ambiguous > 1)
            fail("load_ferplus_votes: %s: near_duplicate '%s', label_ambiguous '%s', expected 0 or 1", where.c_str(),
                 std::string(f[6]).c_str(), std::string(f[7]).c_str());
        face.usage = r.usage;
        face.fer2013_label = std::string(f[3]);
        face.file = std::string(f[4]);
        face.votes = r.votes;
        face.near_duplicate = near == 1;
        face.label_ambiguous = ambiguous == 1;
        t.faces.push_back(std::move(face));
    }
    if (t.faces.empty()) fail("load_ferplus_votes: %s has no data rows", map_path.string().c_str());
    t.index(map_path.string().c_str());
    return t;
}

// The FER2013 soft target of every face of a folder data set loaded from `root` (its
// dataset::sources are paths under root): nullopt for faces without a mapped FER+ row or
// without votes left. `found` (optional) receives how many faces have one.
template <class Dataset>
std::vector<std::optional<std::array<float, 7>>> fer2013_soft_targets(Dataset const& d, std::filesystem::path const& root,
                                                                       ferplus_table const& votes, std::size_t* found = nullptr) {
    std::vector<std::optional<std::array<float, 7>>> out(d.size());
    std::size_t n = 0;
    std::filesystem::path base = root.lexically_normal();
    if (!base.has_filename()) base = base.parent_path();  // "fer2013/" -> "fer2013"
    for (std::size_t i = 0; i < d.size(); ++i) {
        std::string const rel =
            std::filesystem::path(d.sources[i]).lexically_normal().lexically_relative(base).generic_string();
        if (ferplus_face const* f = votes.find(rel)) out[i] = fer2013_soft_target(f->votes);
        n += out[i].has_value();
    }
    if (found) *found = n;
    return out;
}

}  // namespace mien
