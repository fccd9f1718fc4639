// Compiled for Cortex-M by tests/headers/freestanding.cmake (arm-none-eabi-g++, -Os,
// -fno-exceptions -fno-rtti): the whole inference core, prediction of both presets through
// network_view from const parameters into a static arena. The object must not reference the heap.
#include <mien/blocks/concat.hpp>
#include <mien/blocks/residual.hpp>
#include <mien/blocks/sequential.hpp>
#include <mien/core/network.hpp>
#include <mien/core/parallel.hpp>
#include <mien/models/paper.hpp>

#include <cstddef>
#include <span>

#if defined(__cpp_exceptions) || defined(__cpp_rtti) || MIEN_SIMD || MIEN_HAS_THREADS
#error "expected a freestanding-style build: no exceptions, no RTTI, the scalar path, no threads"
#endif

using paper = mien::models::paper<>;
using fast = mien::models::fast;
static_assert(paper::inference_bytes <= 400 * 1024 && fast::inference_bytes <= 200 * 1024);

extern float const paper_params[paper::params], paper_state[paper::state_size];
extern float const fast_params[fast::params], fast_state[fast::state_size];
alignas(64) std::byte arena[paper::inference_bytes];

float predict_both(float const* face, float* out) {
    mien::network_view<paper> p{std::span<float const, paper::params>(paper_params, paper::params),
                                std::span<float const, paper::state_size>(paper_state, paper::state_size)};
    mien::network_view<fast> f{std::span<float const, fast::params>(fast_params, fast::params),
                               std::span<float const, fast::state_size>(fast_state, fast::state_size)};
    auto const a = p.predict(std::span<float const, 2304>(face, 2304), arena);
    for (std::size_t i = 0; i < 7; ++i) out[i] = a[i];
    auto const b = f.predict(std::span<float const, 2304>(face, 2304), std::span<std::byte, fast::inference_bytes>(arena, fast::inference_bytes));
    for (std::size_t i = 0; i < 7; ++i) out[7 + i] = b[i];
    return out[0];
}
