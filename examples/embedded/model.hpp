// examples/embedded/model.hpp -- which network this build of the example runs.
//
// One firmware per model (FIRMWARE_MODEL_FAST or FIRMWARE_MODEL_PAPER, set by CMakeLists.txt)
// keeps the memory report of each one clean. The weights header is generated at build time
// by mien-embed (cmake/mien_embed.cmake) from models/<model>.mien.
#pragma once

#include <mien/io/fingerprint.hpp>
#include <mien/models/paper.hpp>

#if defined(FIRMWARE_MODEL_FAST)
#include "fast_weights.hpp"
namespace firmware {
using net = mien::models::fast;
namespace weights = fast_weights;
inline constexpr char model[] = "fast";
}  // namespace firmware
#elif defined(FIRMWARE_MODEL_PAPER)
#include "paper_weights.hpp"
namespace firmware {
using net = mien::models::paper<>;
namespace weights = paper_weights;
inline constexpr char model[] = "paper";
}  // namespace firmware
#else
#error "define FIRMWARE_MODEL_FAST or FIRMWARE_MODEL_PAPER"
#endif

namespace firmware {
// The header records the topology it was generated for; a header of another network would
// also fail to convert to the view's fixed-size spans, but this says why.
static_assert(weights::topology_fingerprint == mien::topology_fingerprint<net>,
              "the weights header was generated for another network");
}  // namespace firmware
