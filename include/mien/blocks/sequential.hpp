// mien/blocks/sequential.hpp -- layers applied one after another (defined in core/sequential.hpp,
// because a network is a sequential; this header keeps the blocks together for users).
#pragma once

#include "../core/sequential.hpp"
