// frame_stats: per-stage mean, percentiles and max in fixed memory.
#include <doctest/doctest.h>

#include <mien/vision/frame_stats.hpp>

TEST_CASE("latency_histogram: exact mean and max, percentiles within 1 % of the nearest-rank sample") {
    mien::latency_histogram h;
    CHECK(h.percentile(0.5) == 0.0);
    // 1, 2, ..., 1000 ms: nearest rank p50 = 500, p99 = 990.
    for (int i = 1; i <= 1000; ++i) h.add(double(i));
    CHECK(h.count() == 1000);
    CHECK(h.mean() == doctest::Approx(500.5));
    CHECK(h.max() == 1000.0);
    CHECK(h.percentile(0.5) == doctest::Approx(500.0).epsilon(0.01));
    CHECK(h.percentile(0.99) == doctest::Approx(990.0).epsilon(0.01));
    CHECK(h.percentile(1.0) == doctest::Approx(1000.0).epsilon(0.01));
    CHECK(h.percentile(1.0) <= h.max());
    // One slow frame in a hundred is the p99, not hidden by the mean.
    mien::latency_histogram spikes;
    for (int i = 0; i < 98; ++i) spikes.add(10.0);
    spikes.add(100.0);
    spikes.add(100.0);
    CHECK(spikes.percentile(0.5) == doctest::Approx(10.0).epsilon(0.01));
    CHECK(spikes.percentile(0.99) == doctest::Approx(100.0).epsilon(0.01));
    CHECK(spikes.mean() == doctest::Approx(11.8));
    // Out of range: below 1 µs, above 100 s, negative or NaN.
    mien::latency_histogram edges;
    edges.add(-1.0);
    edges.add(1e-6);
    edges.add(5e5);
    CHECK(edges.max() == 5e5);
    CHECK(edges.percentile(0.34) == doctest::Approx(1e-3));
    CHECK(edges.percentile(1.0) == doctest::Approx(1e5).epsilon(0.02));
}

TEST_CASE("frame_stats: stages, frames with a face, per-face recognition, frames per second") {
    mien::frame_stats stats;
    stats.add({.gray_ms = 0.1, .detection_ms = 10, .recognition_ms = 1.0, .frame_ms = 12, .faces = 2});
    stats.add({.gray_ms = 0.1, .detection_ms = 6, .frame_ms = 8, .faces = 0});
    CHECK(stats.frames() == 2);
    CHECK(stats.frames_with_faces() == 1);
    CHECK(stats.faces() == 2);
    CHECK(stats.stage(mien::stage::detection).mean() == doctest::Approx(8.0));
    CHECK(stats.stage(mien::stage::per_face).count() == 1);
    CHECK(stats.stage(mien::stage::per_face).mean() == doctest::Approx(0.5));
    CHECK(stats.frames_per_second() == doctest::Approx(100.0));
    CHECK(mien::stage_names[std::size_t(mien::stage::frame)] == "frame");
}
