// One prediction on a synthetic face, shared by the programs that check how mien is consumed
// (consumer projects, the single header, -fno-exceptions). Include mien before this file.
#pragma once

#include <array>
#include <cstddef>
#include <cstdio>

// Returns 0 (a process exit status) when the probabilities sum to 1.
template <class Net>
int predict_once(char const* who) {
    static Net net;  // static: the network owns all its buffers (megabytes for the paper's)
    static std::array<float, Net::inputs> face{};
    for (std::size_t i = 0; i < face.size(); ++i) face[i] = float(i % 48) / 48.0f;
    auto const& p = net.predict(face);
    float sum = 0;
    for (float v : p) sum += v;
    std::printf("%s: %zu classes, sum of probabilities %f\n", who, p.size(), double(sum));
    return sum > 0.999f && sum < 1.001f ? 0 : 1;
}
