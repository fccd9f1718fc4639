// mien-detect-fixture -- writes the inputs of mien-detect's CTest tests.
//
//   mien-detect-fixture DIR [FACE_PHOTO]  ->  DIR/noise.avi (12 frames 320x240, Motion JPEG, no face),
//       DIR/noise.png, DIR/not_a_video.avi and DIR/not_an_image.png (text), DIR/not_a_cascade.xml,
//       DIR/empty/ (no images); with FACE_PHOTO (a real photo of one face, when the shared data
//       exist): DIR/face.avi, 15 frames 640x480 of that photo drifting 3 px per frame.
//
// Generated, so the repository holds no data set files.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <mien/core/error.hpp>
#include <mien/core/random.hpp>

namespace fs = std::filesystem;

namespace {

cv::VideoWriter open_video(fs::path const& file, cv::Size size) {
    cv::VideoWriter w(file.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 25.0, size);
    if (!w.isOpened()) mien::fail("cannot write %s", file.string().c_str());
    return w;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: mien-detect-fixture DIR [FACE_PHOTO]\n");
        return 2;
    }
    try {
        fs::path const dir = argv[1];
        fs::create_directories(dir / "empty");
        mien::random_generator rng(11);
        cv::Mat noise(240, 320, CV_8UC3);
        cv::VideoWriter video = open_video(dir / "noise.avi", noise.size());
        for (int f = 0; f < 12; ++f) {
            for (int i = 0; i < noise.rows * noise.cols * 3; ++i) noise.data[i] = std::uint8_t(96 + rng.below(64));
            video.write(noise);
        }
        video.release();
        if (!cv::imwrite((dir / "noise.png").string(), noise)) mien::fail("cannot write %s/noise.png", dir.string().c_str());
        std::ofstream(dir / "not_a_video.avi") << "this is text, not a video\n";
        std::ofstream(dir / "not_an_image.png") << "this is text, not an image\n";
        std::ofstream(dir / "not_a_cascade.xml") << "this is text, not a cascade\n";
        if (argc == 3 && fs::is_regular_file(argv[2])) {
            cv::Mat const photo = cv::imread(argv[2], cv::IMREAD_COLOR);
            if (photo.empty()) mien::fail("%s is not a readable image", argv[2]);
            cv::Mat scaled;
            double const s = 400.0 / std::max(photo.cols, photo.rows);
            cv::resize(photo, scaled, cv::Size(), s, s, cv::INTER_AREA);
            cv::VideoWriter faces = open_video(dir / "face.avi", cv::Size(640, 480));
            for (int f = 0; f < 15; ++f) {
                cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(90, 110, 100));
                scaled.copyTo(frame(cv::Rect(100 + 3 * f, 40, scaled.cols, scaled.rows)));
                faces.write(frame);
            }
        }
        std::printf("wrote the mien-detect test inputs to %s\n", dir.string().c_str());
        return 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-detect-fixture: %s\n", e.what());
        return 1;
    }
}
