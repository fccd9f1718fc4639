// load_fer2013_csv on small generated CSV files: good rows, each kind of bad row (an error
// naming file and line, or skipped and counted), empty splits, header variants.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <string>
#include <vector>

#include <mien/data/fer2013_csv.hpp>

#include "support/io_test.hpp"

namespace {

using mien::testing::temp_dir;

// 2304 pixel values: (seed + i) mod 256, space-separated.
std::string pixels(int seed, int count = 48 * 48) {
    std::string s;
    for (int i = 0; i < count; ++i) {
        if (i) s += ' ';
        s += std::to_string((seed + i) % 256);
    }
    return s;
}

std::filesystem::path write(temp_dir const& dir, std::vector<std::string> const& lines, std::string const& eol = "\n") {
    auto const path = dir / "fer2013.csv";
    std::ofstream out(path, std::ios::binary);
    for (auto const& l : lines) out << l << eol;
    return path;
}

std::string const header = "emotion,pixels,Usage";

}  // namespace

TEST_CASE("fer2013_csv: loads the rows of one Usage, pixels and labels intact") {
    temp_dir dir;
    auto const path = write(dir, {header, "0," + pixels(0) + ",Training", "3," + pixels(1) + ",PublicTest",
                                  "6," + pixels(2) + ",Training", "5," + pixels(3) + ",PrivateTest",
                                  "2," + pixels(4) + ",Training"});
    auto const train = mien::load_fer2013_csv(path, "Training");
    REQUIRE(train.size() == 3);
    CHECK(train.side == 48);
    CHECK(train.labels == std::vector<std::int32_t>{0, 6, 2});
    CHECK(train.skipped == 0);
    CHECK(train.face(1)[0] == 2);
    CHECK(train.face(1)[300] == (2 + 300) % 256);
    CHECK(train.sources[0] == path.string() + ":2");
    CHECK(train.sources[2] == path.string() + ":6");
    CHECK(train.subjects[0].empty());

    auto const pub = mien::load_fer2013_csv(path, "PublicTest");
    REQUIRE(pub.size() == 1);
    CHECK(pub.labels[0] == 3);
    CHECK(mien::load_fer2013_csv(path, "PrivateTest").labels[0] == 5);
}

TEST_CASE("fer2013_csv: CRLF lines, a byte-order mark, spaces and another column order") {
    temp_dir dir;
    auto const path = write(dir, {"\xEF\xBB\xBF" "emotion, Usage, pixels", "4, Training, " + pixels(9), ""}, "\r\n");
    auto const d = mien::load_fer2013_csv(path, "Training");
    REQUIRE(d.size() == 1);
    CHECK(d.labels[0] == 4);
    CHECK(d.face(0)[2303] == (9 + 2303) % 256);
}

TEST_CASE("fer2013_csv: every kind of bad row is an error naming the file and line") {
    temp_dir dir;
    struct bad_row {
        std::string row, message;
    };
    std::vector<bad_row> const cases = {
        {"0," + pixels(0) + ",Training,extra", "4 columns, expected 3"},
        {"0," + pixels(0), "2 columns, expected 3"},
        {"0," + pixels(0, 2303) + ",Training", "2303 pixels, expected 2304"},
        {"0," + pixels(0) + " 7,Training", "2305 pixels, expected 2304"},
        {"0,12 abc" + pixels(0, 2302) + ",Training", "pixel 2 is 'abc"},
        {"0,256 " + pixels(0, 2303) + ",Training", "pixel 1 is '256'"},
        {"0,-1 " + pixels(0, 2303) + ",Training", "pixel 1 is '-1'"},
        {"7," + pixels(0) + ",Training", "emotion '7' is not a label 0..6"},
        {"-1," + pixels(0) + ",Training", "emotion '-1'"},
        {"happy," + pixels(0) + ",Training", "emotion 'happy'"},
        {"1," + pixels(0) + ",Validation", "unknown Usage 'Validation'"},
    };
    for (auto const& c : cases) {
        CAPTURE(c.message);
        auto const path = write(dir, {header, "1," + pixels(5) + ",Training", c.row});
        std::string const where = path.string() + ":3";
        CHECK_THROWS_WITH_AS(mien::load_fer2013_csv(path, "Training"), doctest::Contains(where.c_str()), mien::error);
        CHECK_THROWS_WITH_AS(mien::load_fer2013_csv(path, "Training"), doctest::Contains(c.message.c_str()), mien::error);
        // A bad row is an error whichever split is asked for: the file is broken.
        CHECK_THROWS_AS(mien::load_fer2013_csv(path, "PublicTest"), mien::error);
    }
}

TEST_CASE("fer2013_csv: skip_bad skips and counts the bad rows of the split") {
    temp_dir dir;
    auto const path = write(dir, {header,
                                  "1," + pixels(5) + ",Training",
                                  "7," + pixels(0) + ",Training",               // bad label
                                  "0," + pixels(0, 100) + ",Training",          // wrong pixel count
                                  "0,x" + pixels(0, 2303) + ",Training",        // non-numeric pixel
                                  "2," + pixels(6) + ",Training",
                                  "0," + pixels(0) + ",Training,extra",         // wrong column count: split unknown
                                  "0," + pixels(0) + ",Validation",             // unknown Usage
                                  "9," + pixels(0) + ",PublicTest",             // bad, but another split
                                  "3," + pixels(7) + ",PublicTest"});
    mien::fer2013_csv_options o;
    o.skip_bad = true;
    auto const train = mien::load_fer2013_csv(path, "Training", o);
    CHECK(train.size() == 2);
    CHECK(train.labels == std::vector<std::int32_t>{1, 2});
    CHECK(train.skipped == 5);  // 3 bad Training rows + 2 rows whose split cannot be told
    auto const pub = mien::load_fer2013_csv(path, "PublicTest", o);
    CHECK(pub.size() == 1);
    CHECK(pub.skipped == 3);  // its bad row + the 2 of unknown split
}

TEST_CASE("fer2013_csv: an empty split, a bad header, a bad request, a missing file") {
    temp_dir dir;
    auto const path = write(dir, {header, "1," + pixels(5) + ",Training", "2," + pixels(5) + ",PublicTest"});
    CHECK_THROWS_WITH_AS(mien::load_fer2013_csv(path, "PrivateTest"),
                         doctest::Contains("has no PrivateTest rows (it has Training 1, PublicTest 1)"), mien::error);
    CHECK_THROWS_WITH_AS(mien::load_fer2013_csv(path, "Test"), doctest::Contains("unknown split 'Test'"), mien::error);

    auto const only_header = write(dir, {header});
    CHECK_THROWS_WITH_AS(mien::load_fer2013_csv(only_header, "Training"),
                         doctest::Contains("has no Training rows (no valid rows at all)"), mien::error);

    // Every row skipped: still an empty split, and said so.
    auto const all_bad = write(dir, {header, "8," + pixels(5) + ",Training"});
    mien::fer2013_csv_options o;
    o.skip_bad = true;
    CHECK_THROWS_WITH_AS(mien::load_fer2013_csv(all_bad, "Training", o), doctest::Contains("has no Training rows"),
                         mien::error);

    auto const no_usage = write(dir, {"emotion,pixels", "1," + pixels(5)});
    CHECK_THROWS_WITH_AS(mien::load_fer2013_csv(no_usage, "Training"), doctest::Contains(":1: the header"), mien::error);
    CHECK_THROWS_WITH_AS(mien::load_fer2013_csv(no_usage, "Training"), doctest::Contains("no 'Usage' column"), mien::error);

    std::ofstream(dir / "empty.csv").flush();
    CHECK_THROWS_WITH_AS(mien::load_fer2013_csv(dir / "empty.csv", "Training"), doctest::Contains("is empty"), mien::error);
    CHECK_THROWS_WITH_AS(mien::load_fer2013_csv(dir / "missing.csv", "Training"), doctest::Contains("cannot open"),
                         mien::error);
}
