// examples/common/progress.hpp -- a one-line progress bar with loss, accuracy and ETA.
//
// Redraws at most every 0.25 s on a terminal; when stderr is not a terminal (a log file) it
// prints one line every 30 s instead, so logs stay readable.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

#include <unistd.h>

class progress {
public:
    progress(std::size_t total, std::string label)
        : total_(total), label_(std::move(label)), start_(clock::now()), last_(start_), tty_(isatty(fileno(stderr)) != 0) {}

    void update(std::size_t done, double loss, double accuracy) {
        auto const now = clock::now();
        auto const every = tty_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(30000);
        if (done < total_ && now - last_ < every) return;
        last_ = now;
        double const elapsed = std::chrono::duration<double>(now - start_).count();
        double const eta = done ? elapsed * double(total_ - done) / double(done) : 0.0;
        int const width = 30, filled = int(double(width) * double(done) / double(total_));
        std::string bar(std::size_t(filled), '=');
        bar.resize(std::size_t(width), ' ');
        std::fprintf(stderr, "%s%s [%s] %zu/%zu loss %.4f acc %.4f ETA %d:%02d ", tty_ ? "\r" : "", label_.c_str(), bar.c_str(), done,
                     total_, loss, accuracy, int(eta) / 60, int(eta) % 60);
        if (!tty_) std::fprintf(stderr, "\n");
        std::fflush(stderr);
    }

    void finish() {
        if (tty_) std::fprintf(stderr, "\n");
    }

private:
    using clock = std::chrono::steady_clock;
    std::size_t total_;
    std::string label_;
    clock::time_point start_, last_;
    bool tty_;
};
