// mien/train/interrupt.hpp -- Ctrl-C as a request to stop a training run at the next batch.
//
//   mien::stop_on_interrupt();                                    // SIGINT sets the flag
//   auto r = mien::train_epoch(*tr, data, o, &mien::stop_requested());
//   if (r.status == mien::epoch_result::interrupted) { /* save a checkpoint at r.batch, exit 130 */ }
//
// The handler only sets a lock-free atomic flag (all a signal handler may do); train_epoch checks
// it before every batch, so the checkpoint the program then saves is of a whole batch.
#pragma once

#include <atomic>
#include <csignal>

namespace mien {

namespace detail {
inline std::atomic<bool> stop_flag{false};
static_assert(std::atomic<bool>::is_always_lock_free, "interrupt: a signal handler may only touch lock-free atomics");
}  // namespace detail

// The flag train_epoch takes as `interrupted`.
inline std::atomic<bool>& stop_requested() { return detail::stop_flag; }

}  // namespace mien

// C linkage: what std::signal expects of a handler.
extern "C" inline void mien_request_stop(int) { mien::detail::stop_flag.store(true); }

namespace mien {

// From now on SIGINT (Ctrl-C) sets stop_requested() instead of ending the process.
inline void stop_on_interrupt() { std::signal(SIGINT, mien_request_stop); }

}  // namespace mien
