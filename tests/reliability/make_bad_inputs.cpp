// tests/reliability/make_bad_inputs.cpp -- writes the hostile inputs of the reliability tests
// (docs/RELIABILITY.md, the bad-input table):
//
//   mien-bad-inputs DIR GOOD_WEIGHTS.mien
//
// Folder data sets (<root>/<label>/<image>): zero_byte/ (a 0-byte .png), text_jpg/ (a text
// file named .jpg), png16/ (a 16-bit PNG), cmyk/ (a CMYK JPEG, when libjpeg is there), huge/ (a
// 20000x20000 PNG), empty/ (no label folders), unknown_label/ (a folder "grumpy"). FER2013
// CSVs: csv_2303.csv (a row of 2303 pixels), csv_label9.csv (emotion 9), csv_crlf.csv (good
// rows with CRLF ends). Weights: truncated.mien (the first half of GOOD_WEIGHTS), bitflip.mien
// (one bit of a weight flipped), empty.mien (0 bytes), nan.mien (a NaN weight, checksum made
// valid). Video: truncated.avi (a 60-frame Motion JPEG video cut at 40 %), text.avi.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <mien/io/binary.hpp>
#include <mien/io/weights.hpp>

#if MIEN_HAVE_LIBJPEG
#include <jpeglib.h>
#endif

namespace fs = std::filesystem;

namespace {

void text_file(fs::path const& path, std::string const& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

void bytes_file(fs::path const& path, std::vector<std::byte> const& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<char const*>(bytes.data()), std::streamsize(bytes.size()));
}

cv::Mat face(int depth) {
    cv::Mat m(48, 48, depth);
    for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 48; ++x) {
            int const v = (x * 5 + y * 3) % 256;
            if (depth == CV_16U) m.at<std::uint16_t>(y, x) = std::uint16_t(v * 257);
            else m.at<std::uint8_t>(y, x) = std::uint8_t(v);
        }
    return m;
}

std::string csv_row(int label, int pixels, char const* usage, char const* end) {
    std::string row = std::to_string(label) + ",";
    for (int p = 0; p < pixels; ++p) {
        if (p) row += ' ';
        row += std::to_string((p * 7) % 256);  // appended apart: g++ 12 warns (-Wrestrict) on "" + string
    }
    return row + "," + usage + end;
}

#if MIEN_HAVE_LIBJPEG
// OpenCV writes no CMYK JPEG: libjpeg does, as print workflows (Adobe) make them.
void cmyk_jpeg(fs::path const& path) {
    fs::create_directories(path.parent_path());
    std::FILE* out = std::fopen(path.c_str(), "wb");
    if (!out) mien::fail("cannot create %s", path.c_str());
    jpeg_compress_struct c{};
    jpeg_error_mgr e{};
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, out);
    c.image_width = 48;
    c.image_height = 48;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_start_compress(&c, TRUE);
    std::vector<unsigned char> row(48 * 4);
    for (int y = 0; y < 48; ++y) {
        for (int x = 0; x < 48; ++x) {
            row[std::size_t(x) * 4 + 0] = static_cast<unsigned char>(x * 5);
            row[std::size_t(x) * 4 + 1] = static_cast<unsigned char>(y * 5);
            row[std::size_t(x) * 4 + 2] = 40;
            row[std::size_t(x) * 4 + 3] = 20;
        }
        JSAMPROW pointer = row.data();
        jpeg_write_scanlines(&c, &pointer, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    std::fclose(out);
}
#endif

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s DIR GOOD_WEIGHTS.mien\n", argv[0]);
        return 2;
    }
    fs::path const dir = argv[1];
    fs::create_directories(dir);

    text_file(dir / "zero_byte" / "angry" / "empty.png", "");
    text_file(dir / "text_jpg" / "angry" / "notes.jpg", "these are notes, not a photo\n");
    fs::create_directories(dir / "png16" / "angry");
    cv::imwrite((dir / "png16" / "angry" / "face16.png").string(), face(CV_16U));
#if MIEN_HAVE_LIBJPEG
    cmyk_jpeg(dir / "cmyk" / "angry" / "face_cmyk.jpg");
#endif
    fs::create_directories(dir / "huge" / "angry");
    cv::imwrite((dir / "huge" / "angry" / "huge.png").string(), cv::Mat(20000, 20000, CV_8U, cv::Scalar(128)));
    fs::create_directories(dir / "empty");
    fs::create_directories(dir / "unknown_label" / "grumpy");
    cv::imwrite((dir / "unknown_label" / "grumpy" / "face.png").string(), face(CV_8U));

    std::string const header = "emotion,pixels,Usage\n";
    text_file(dir / "csv_2303.csv", header + csv_row(0, 2304, "PublicTest", "\n") + csv_row(3, 2303, "PublicTest", "\n"));
    text_file(dir / "csv_label9.csv", header + csv_row(9, 2304, "PublicTest", "\n"));
    text_file(dir / "csv_crlf.csv", "emotion,pixels,Usage\r\n" + csv_row(0, 2304, "PublicTest", "\r\n") +
                                        csv_row(5, 2304, "PublicTest", "\r\n"));

    auto const good = mien::detail::read_file(argv[2], "mien-bad-inputs");
    bytes_file(dir / "truncated.mien", std::vector<std::byte>(good.begin(), good.begin() + std::ptrdiff_t(good.size() / 2)));
    auto flipped = good;
    flipped[good.size() / 2] ^= std::byte{0x10};
    bytes_file(dir / "bitflip.mien", flipped);
    bytes_file(dir / "empty.mien", {});
    auto nan = good;
    auto const file = mien::detail::parse_file(good, argv[2]);
    std::size_t const at = file.tensors.at(0).data_at + 4 * 3;  // the 4th value of the first tensor
    std::uint32_t const quiet_nan = 0x7FC00000u;
    for (std::size_t i = 0; i < 4; ++i) nan[at + i] = std::byte(static_cast<unsigned char>(quiet_nan >> (8 * i)));
    std::uint32_t const crc = mien::detail::crc32(std::span<std::byte const>(nan).first(nan.size() - 4));
    for (std::size_t i = 0; i < 4; ++i) nan[nan.size() - 4 + i] = std::byte(static_cast<unsigned char>(crc >> (8 * i)));
    bytes_file(dir / "nan.mien", nan);

    {
        cv::VideoWriter video((dir / "whole.avi").string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(320, 240));
        if (!video.isOpened()) mien::fail("cannot write %s", (dir / "whole.avi").c_str());
        cv::Mat frame(240, 320, CV_8UC3);
        for (int i = 0; i < 60; ++i) {
            cv::randu(frame, cv::Scalar::all(0), cv::Scalar::all(255));
            video.write(frame);
        }
    }
    auto const whole = mien::detail::read_file(dir / "whole.avi", "mien-bad-inputs");
    bytes_file(dir / "truncated.avi", std::vector<std::byte>(whole.begin(), whole.begin() + std::ptrdiff_t(whole.size() * 2 / 5)));
    text_file(dir / "text.avi", "not a video\n");
    std::printf("wrote the bad inputs in %s\n", dir.string().c_str());
    return 0;
}
