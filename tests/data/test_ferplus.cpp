// FER+ votes: the protocols on hand-made vote counts, the FER2013 soft target, the two CSVs on
// small generated files (good rows joined, each kind of bad row an error naming file and line),
// and, when the shared data is there, the real files and images.
#include <doctest/doctest.h>

#include <array>
#include <fstream>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mien/data/ferplus.hpp>
#include <mien/data/ferplus_folder.hpp>
#include <mien/data/image_folder.hpp>

#include "support/data_dir.hpp"
#include "support/io_test.hpp"

namespace {

using mien::testing::temp_dir;
using votes_t = mien::ferplus_votes;

// neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
votes_t v(std::array<int, 10> c) {
    votes_t out{};
    for (std::size_t k = 0; k < 10; ++k) out[k] = std::uint8_t(c[k]);
    return out;
}

std::string const votes_header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF";
std::string const map_header = "csv_row,usage,ferplus_image_name,label,file,rmse,near_duplicate,label_ambiguous";

void write(std::filesystem::path const& path, std::vector<std::string> const& lines) {
    std::ofstream out(path, std::ios::binary);
    for (auto const& l : lines) out << l << '\n';
}

// A two-row votes file and its mapping in dir.
void write_pair(temp_dir const& dir, std::vector<std::string> votes_rows, std::vector<std::string> map_rows) {
    votes_rows.insert(votes_rows.begin(), votes_header);
    map_rows.insert(map_rows.begin(), map_header);
    write(dir / "fer2013new.csv", votes_rows);
    write(dir / "fer2013new_to_fer2013_files.csv", map_rows);
}

std::vector<std::string> const good_votes{"Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0",
                                          "PublicTest,fer0000001.png,0,8,0,0,0,0,0,0,1,1"};
std::vector<std::string> const good_map{"0,Training,fer0000000.png,angry,train/angry/a.png,1.6,0,0",
                                        "1,PublicTest,fer0000001.png,happy,val/happy/b.png,1.7,1,0"};

}  // namespace

TEST_CASE("ferplus: single votes are dropped before any protocol") {
    CHECK(mien::drop_single_votes(v({4, 0, 0, 1, 3, 2, 0, 0, 1, 0})) == v({4, 0, 0, 0, 3, 2, 0, 0, 0, 0}));
}

TEST_CASE("ferplus: majority keeps a face whose top class has more than half of the remaining votes") {
    // 6 of 9 after dropping the single sadness vote: kept as neutral.
    auto const kept = mien::ferplus_target(v({6, 0, 0, 1, 3, 0, 0, 0, 0, 0}), mien::ferplus_protocol::majority);
    REQUIRE(kept);
    CHECK(*kept == std::array<float, 8>{1, 0, 0, 0, 0, 0, 0, 0});
    // 4 of 9 (the first row of fer2013new.csv): no majority.
    CHECK_FALSE(mien::ferplus_target(v({4, 0, 0, 1, 3, 2, 0, 0, 0, 0}), mien::ferplus_protocol::majority));
    // Exactly half is not more than half.
    CHECK_FALSE(mien::ferplus_target(v({5, 5, 0, 0, 0, 0, 0, 0, 0, 0}), mien::ferplus_protocol::majority));
    // Without the single vote, 5 of 9 would not be a majority of 10: the drop decides it.
    CHECK(mien::ferplus_target(v({5, 0, 0, 0, 4, 0, 0, 0, 0, 1}), mien::ferplus_protocol::majority));
    // contempt is a class of its own.
    auto const contempt = mien::ferplus_target(v({2, 0, 0, 0, 0, 0, 0, 8, 0, 0}), mien::ferplus_protocol::majority);
    REQUIRE(contempt);
    CHECK((*contempt)[7] == 1.0f);
}

TEST_CASE("ferplus: faces whose top vote is unknown or not-a-face are excluded under every protocol") {
    for (auto p : {mien::ferplus_protocol::majority, mien::ferplus_protocol::probability, mien::ferplus_protocol::crossentropy}) {
        CHECK_FALSE(mien::ferplus_target(v({2, 0, 0, 0, 0, 0, 0, 0, 6, 2}), p));
        CHECK_FALSE(mien::ferplus_target(v({0, 0, 0, 0, 0, 0, 0, 0, 0, 10}), p));
        CHECK_FALSE(mien::ferplus_target(v({1, 1, 1, 1, 1, 1, 1, 1, 1, 1}), p));  // nothing survives
    }
    // A tie between an emotion and unknown goes to the emotion (argmax takes the first index).
    CHECK(mien::ferplus_target(v({4, 2, 0, 0, 0, 0, 0, 0, 4, 0}), mien::ferplus_protocol::crossentropy));
}

TEST_CASE("ferplus: probability and crossentropy give the remaining votes over the 8 emotions") {
    auto const t = mien::ferplus_target(v({4, 0, 0, 1, 3, 2, 0, 0, 0, 0}), mien::ferplus_protocol::crossentropy);
    REQUIRE(t);
    // 4 neutral, 3 anger, 2 disgust remain (the single sadness vote is gone): 9 votes.
    CHECK((*t)[0] == doctest::Approx(4.0 / 9));
    CHECK((*t)[3] == 0.0f);
    CHECK((*t)[4] == doctest::Approx(3.0 / 9));
    CHECK((*t)[5] == doctest::Approx(2.0 / 9));
    auto const p = mien::ferplus_target(v({4, 0, 0, 1, 3, 2, 0, 0, 0, 0}), mien::ferplus_protocol::probability);
    REQUIRE(p);
    CHECK(*p == *t);
    // unknown / NF votes do not dilute the emotions.
    auto const u = mien::ferplus_target(v({6, 0, 0, 0, 0, 0, 0, 0, 2, 2}), mien::ferplus_protocol::crossentropy);
    REQUIRE(u);
    CHECK((*u)[0] == 1.0f);
}

TEST_CASE("ferplus: the FER2013 soft target maps the classes to FER2013 order and drops contempt, unknown and NF") {
    // neutral 4, happiness 2, sadness 1 (dropped), anger 3, contempt 2, unknown 2
    auto const t = mien::fer2013_soft_target(v({4, 2, 0, 1, 3, 0, 0, 2, 2, 0}));
    REQUIRE(t);
    // FER2013 order: angry, disgust, fear, happy, sad, surprise, neutral; 9 votes remain.
    std::array<float, 7> const expected{3.0f / 9, 0, 0, 2.0f / 9, 0, 0, 4.0f / 9};
    for (std::size_t k = 0; k < 7; ++k) CHECK((*t)[k] == doctest::Approx(expected[k]));
    CHECK_FALSE(mien::fer2013_soft_target(v({0, 0, 0, 0, 0, 0, 0, 9, 1, 0})));  // only contempt and noise
    CHECK_FALSE(mien::fer2013_soft_target(v({0, 0, 0, 0, 0, 0, 0, 0, 0, 10})));
}

TEST_CASE("ferplus: the two CSVs are joined by row, and each face is found by its FER2013 file") {
    temp_dir dir;
    write_pair(dir, good_votes, good_map);
    auto const t = mien::load_ferplus_votes(dir.path());
    REQUIRE(t.size() == 2);
    auto const* a = t.find("train/angry/a.png");
    REQUIRE(a != nullptr);
    CHECK(a->votes == v({4, 0, 0, 1, 3, 2, 0, 0, 0, 0}));
    CHECK(a->usage == "Training");
    CHECK(a->fer2013_label == "angry");
    auto const* b = t.find("val/happy/b.png");
    REQUIRE(b != nullptr);
    CHECK(b->csv_row == 1);
    CHECK(b->near_duplicate);
    CHECK_FALSE(b->label_ambiguous);
    CHECK(t.find("val/happy/c.png") == nullptr);
}

TEST_CASE("ferplus: bad rows are errors naming the file, the line, what was expected and what was found") {
    struct bad_case {
        std::vector<std::string> votes, map;
        std::string where, message;
    };
    std::vector<bad_case> const cases{
        {{"Training,fer0000000.png,4,0,0,1,3,2,0,0,0"}, good_map, "fer2013new.csv:2", "11 columns, expected 12"},
        {{"Train,fer0000000.png,4,0,0,1,3,2,0,0,0,0"}, good_map, "fer2013new.csv:2",
         "Usage 'Train', expected Training, PublicTest or PrivateTest"},
        {{good_votes[0], "PublicTest,fer0000001.png,0,x,0,0,0,0,0,0,1,1"}, good_map, "fer2013new.csv:3",
         "happiness count 'x', expected an integer 0..255"},
        {{good_votes[0], "PublicTest,fer0000001.png,0,0,0,0,0,0,0,0,0,0"}, good_map, "fer2013new.csv:3",
         "no votes at all"},
        {good_votes, {"2,Training,fer0000002.png,angry,train/angry/a.png,1.6,0,0"}, "fer2013new_to_fer2013_files.csv:2",
         "csv_row '2', expected a row number 0..1"},
        {good_votes, {"1,Training,fer0000000.png,angry,train/angry/a.png,1.6,0,0"}, "fer2013new_to_fer2013_files.csv:2",
         "row 1 is 'Training,fer0000000.png' here but 'PublicTest,fer0000001.png'"},
        {good_votes, {good_map[0], "1,PublicTest,fer0000001.png,happy,val/happy/b.png,1.7,2,0"},
         "fer2013new_to_fer2013_files.csv:3", "near_duplicate '2', label_ambiguous '0', expected 0 or 1"},
        {good_votes, {good_map[0], "1,PublicTest,fer0000001.png,happy,train/angry/a.png,1.7,0,0"},
         "fer2013new_to_fer2013_files.csv", "file train/angry/a.png is mapped twice (csv_row 0 and 1)"},
    };
    for (auto const& c : cases) {
        CAPTURE(c.message);
        temp_dir dir;
        write_pair(dir, c.votes, c.map);
        std::string const e = mien::testing::error_of([&] { mien::load_ferplus_votes(dir.path()); });
        CHECK(e.find(c.where) != std::string::npos);
        CHECK(e.find(c.message) != std::string::npos);
    }
    temp_dir dir;
    write(dir / "fer2013new.csv", {"Usage,Image,neutral"});
    CHECK(mien::testing::error_of([&] { mien::load_ferplus_votes(dir.path()); })
              .find("fer2013new.csv:1: header 'Usage,Image,neutral', expected 'Usage,Image name,neutral,") != std::string::npos);
    CHECK(mien::testing::error_of([&] { mien::load_ferplus_votes(dir / "missing"); }).find("cannot open") != std::string::npos);
}

TEST_CASE("ferplus: a folder data set gets the FER2013 soft targets of its files") {
    temp_dir dir;
    write_pair(dir, good_votes, good_map);
    auto const t = mien::load_ferplus_votes(dir.path());
    std::filesystem::create_directories(dir / "fer/train/angry");
    std::filesystem::create_directories(dir / "fer/train/happy");
    cv::Mat const face(48, 48, CV_8UC1, cv::Scalar(100));
    cv::imwrite((dir / "fer/train/angry/a.png").string(), face);
    cv::imwrite((dir / "fer/train/happy/z.png").string(), face);  // not in the mapping
    auto const d = mien::load_image_folder(dir / "fer/train");
    std::size_t found = 0;
    // A trailing separator on the root changes nothing.
    auto const soft = mien::fer2013_soft_targets(d, (dir / "fer/").string(), t, &found);
    CHECK(found == 1);
    REQUIRE(soft.size() == 2);
    REQUIRE(soft[0]);
    CHECK((*soft[0])[6] == doctest::Approx(4.0 / 9));  // neutral
    CHECK((*soft[0])[0] == doctest::Approx(3.0 / 9));  // angry
    CHECK_FALSE(soft[1]);
}

TEST_CASE("ferplus: the folder loader keeps what the protocol keeps, labelled in FER+ order") {
    temp_dir dir;
    write_pair(dir, good_votes, good_map);
    auto const t = mien::load_ferplus_votes(dir.path());
    std::filesystem::create_directories(dir / "fer/val/happy");
    cv::imwrite((dir / "fer/val/happy/b.png").string(), cv::Mat(48, 48, CV_8UC1, cv::Scalar(7)));
    auto const val = mien::load_ferplus_folder(dir / "fer", t, "PublicTest", mien::ferplus_protocol::majority);
    REQUIRE(val.faces.size() == 1);
    CHECK(val.faces.labels[0] == 1);  // happiness
    CHECK(val.faces.face(0)[0] == 7);
    CHECK(val.mapped == 1);
    CHECK(val.excluded == 0);
    // The only Training face has no majority, and its image is missing: excluded before it is read.
    CHECK(mien::testing::error_of([&] { mien::load_ferplus_folder(dir / "fer", t, "Training", mien::ferplus_protocol::majority); })
              .find("no Training face of") != std::string::npos);
    CHECK(mien::testing::error_of([&] { mien::load_ferplus_folder(dir / "fer", t, "Training", mien::ferplus_protocol::crossentropy); })
              .find("train/angry/a.png (csv_row 0) is not a readable image") != std::string::npos);
    CHECK(mien::testing::error_of([&] { mien::load_ferplus_folder(dir / "fer", t, "PrivateTest", mien::ferplus_protocol::majority); })
              .find("usage 'PrivateTest', expected Training or PublicTest") != std::string::npos);
}

TEST_CASE("ferplus: the shared files (when present) join completely and give the README's counts") {
    MIEN_REQUIRE_DATA_SET(ferplus, "ferplus");
    auto const t = mien::load_ferplus_votes(ferplus);
    std::size_t training = 0, public_test = 0;
    for (auto const& f : t.faces) (f.usage == "Training" ? training : public_test)++;
    CHECK(training == 28558);
    CHECK(public_test == 3579);
    auto const* first = t.find("train/angry/Training_1426440.jpg");
    REQUIRE(first != nullptr);
    CHECK(first->csv_row == 0);
    CHECK(first->votes == v({4, 0, 0, 1, 3, 2, 0, 0, 0, 0}));
    MIEN_REQUIRE_DATA_SET(fer2013, "fer2013");
    auto const val = mien::load_ferplus_folder(fer2013, t, "PublicTest", mien::ferplus_protocol::majority);
    CHECK(val.mapped == 3579);
    CHECK(val.faces.size() + val.excluded == 3579);
    CHECK(val.faces.size() > 3000);  // most faces have a clear majority
    MESSAGE("FER+ PublicTest majority: " << val.faces.size() << " faces kept, " << val.excluded << " excluded");
}
