// mien/core/team.hpp -- what a layer sees of a thread team: "split [0, n) across your threads".
//
// A frame carries a team_base pointer (null: run on the calling thread). The threads themselves
// live in core/parallel.hpp's thread_team, which only the trainer includes: a network that
// predicts, or a firmware that has no threads, never pulls in <thread> or <mutex>. The work is
// handed over as a function pointer and a context pointer, so nothing is allocated per call.
#pragma once

#include <cstddef>

namespace mien {

class team_base {
public:
    using job_type = void (*)(void* context, std::size_t begin, std::size_t end, std::size_t thread);

    // Calls fn(begin, end, thread) on every thread with its slice of [0, count); returns when
    // all are done.
    template <class F>
    void run(std::size_t count, F& fn) {
        dispatch_(this, count, &call<F>, &fn);
    }

protected:
    using dispatch_type = void (*)(team_base* self, std::size_t count, job_type job, void* context);
    explicit team_base(dispatch_type d) : dispatch_(d) {}
    ~team_base() = default;

    template <class F>
    static void call(void* context, std::size_t b, std::size_t e, std::size_t t) {
        (*static_cast<F*>(context))(b, e, t);
    }

private:
    dispatch_type dispatch_;
};

}  // namespace mien
