// mien/data/fer2013_csv.hpp -- FER2013 as Kaggle ships it: one CSV, `emotion,pixels,Usage`.
//
//   auto train = mien::load_fer2013_csv("fer2013.csv", "Training");
//   auto test  = mien::load_fer2013_csv("fer2013.csv", "PrivateTest", {.skip_bad = true});
//
// The header line names the columns (any order; spaces around names allowed, as in the
// `icml_face_data.csv` variant); `emotion` is 0..6 in mien's (FER2013's) class order, `pixels`
// is 48*48 = 2304 space-separated gray levels 0..255, `Usage` is Training, PublicTest or
// PrivateTest. Lines may end in CRLF. Needs no OpenCV.
//
// Every data row of the file is checked, whatever split is asked for. A malformed row (wrong
// column count, a non-numeric or out-of-range pixel, a wrong pixel count, a label outside 0..6,
// an unknown Usage) raises mien::error naming the file and its line number (the header is line
// 1). With `skip_bad`, such rows are skipped instead and counted in dataset::skipped: those of
// the requested split, and those whose split cannot be told (wrong column count, unknown Usage).
// A split with no rows is an error that lists the splits the file has.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "dataset.hpp"
#include "labels.hpp"

namespace mien {

inline constexpr std::array<std::string_view, 3> fer2013_usages{"Training", "PublicTest", "PrivateTest"};

struct fer2013_csv_options {
    bool skip_bad = false;  // skip (and count) malformed rows instead of failing
    int side = 48;          // pixels per row = side * side
};

namespace detail {

inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

inline std::vector<std::string_view> split_commas(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= line.size(); ++i)
        if (i == line.size() || line[i] == ',') {
            fields.push_back(trim(line.substr(start, i - start)));
            start = i + 1;
        }
    return fields;
}

// Parses `count` space-separated values 0..255 into out; returns "" or what is wrong.
inline std::string parse_pixels(std::string_view text, std::size_t count, std::uint8_t* out) {
    std::size_t found = 0;
    char const* p = text.data();
    char const* const end = text.data() + text.size();
    while (true) {
        while (p != end && (*p == ' ' || *p == '\t')) ++p;
        if (p == end) break;
        char const* const word = p;
        while (p != end && *p != ' ' && *p != '\t') ++p;
        unsigned value = 0;
        auto const r = std::from_chars(word, p, value);
        if (r.ec != std::errc() || r.ptr != p || value > 255)
            return "pixel " + std::to_string(found + 1) + " is '" + std::string(word, p) + "', expected an integer 0..255";
        if (found < count) out[found] = std::uint8_t(value);
        ++found;
    }
    if (found != count)
        return std::to_string(found) + " pixels, expected " + std::to_string(count);
    return {};
}

}  // namespace detail

// The faces of one Usage split (Training, PublicTest or PrivateTest) of a FER2013 CSV.
inline dataset load_fer2013_csv(std::filesystem::path const& path, std::string_view usage,
                                fer2013_csv_options const& o = {}) {
    std::string const file = path.string();
    if (std::find(fer2013_usages.begin(), fer2013_usages.end(), usage) == fer2013_usages.end())
        fail("load_fer2013_csv: unknown split '%s' (expected Training, PublicTest or PrivateTest)",
             std::string(usage).c_str());
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("load_fer2013_csv: cannot open %s", file.c_str());

    std::string line;
    if (!std::getline(in, line)) fail("load_fer2013_csv: %s is empty (expected the header emotion,pixels,Usage)", file.c_str());
    if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // UTF-8 byte-order mark
    auto const header = detail::split_commas(line);
    auto column = [&](std::string_view name) {
        auto const it = std::find(header.begin(), header.end(), name);
        if (it == header.end())
            fail("load_fer2013_csv: %s:1: the header '%s' has no '%s' column (expected emotion,pixels,Usage)", file.c_str(),
                 std::string(detail::trim(line)).c_str(), std::string(name).c_str());
        return std::size_t(it - header.begin());
    };
    std::size_t const emotion_at = column("emotion"), pixels_at = column("pixels"), usage_at = column("Usage");

    dataset d;
    d.side = o.side;
    std::vector<std::uint8_t> face(d.face_size());
    std::array<std::size_t, fer2013_usages.size()> rows_per_usage{};
    std::size_t line_number = 1;
    while (std::getline(in, line)) {
        ++line_number;
        if (detail::trim(line).empty()) continue;  // blank lines (a trailing newline pair)
        std::string const where = file + ":" + std::to_string(line_number);
        // counted: whether a skipped row counts (it is of this split, or its split is unknown)
        auto bad = [&](bool counted, std::string const& what) {
            if (!o.skip_bad) fail("load_fer2013_csv: %s: %s", where.c_str(), what.c_str());
            if (counted) ++d.skipped;
        };
        auto const fields = detail::split_commas(line);
        if (fields.size() != header.size()) {
            bad(true, std::to_string(fields.size()) + " columns, expected " + std::to_string(header.size()) +
                          " (emotion,pixels,Usage)");
            continue;
        }
        std::string_view const row_usage = fields[usage_at];
        auto const u = std::find(fer2013_usages.begin(), fer2013_usages.end(), row_usage);
        if (u == fer2013_usages.end()) {
            bad(true, "unknown Usage '" + std::string(row_usage) + "' (expected Training, PublicTest or PrivateTest)");
            continue;
        }
        bool const wanted = row_usage == usage;
        std::string_view const emotion = fields[emotion_at];
        int label = -1;
        auto const r = std::from_chars(emotion.data(), emotion.data() + emotion.size(), label);
        if (r.ec != std::errc() || r.ptr != emotion.data() + emotion.size() || label < 0 ||
            label >= int(expression_count)) {
            bad(wanted, "emotion '" + std::string(emotion) + "' is not a label 0..6");
            continue;
        }
        std::string const problem = detail::parse_pixels(fields[pixels_at], face.size(), face.data());
        if (!problem.empty()) {
            bad(wanted, problem);
            continue;
        }
        rows_per_usage[std::size_t(u - fer2013_usages.begin())]++;
        if (wanted) d.add(face.data(), label, where);
    }
    if (d.size() == 0) {
        std::string found;
        for (std::size_t i = 0; i < fer2013_usages.size(); ++i)
            if (rows_per_usage[i] > 0)
                found += (found.empty() ? "" : ", ") + std::string(fer2013_usages[i]) + " " + std::to_string(rows_per_usage[i]);
        fail("load_fer2013_csv: %s has no %s rows (%s%s)", file.c_str(), std::string(usage).c_str(),
             found.empty() ? "no valid rows at all" : "it has ", found.c_str());
    }
    return d;
}

}  // namespace mien
