// mien/train/run_log.hpp: the per-epoch CSV log, in the format std::ostream gave mien-train's
// log.csv, rewritten atomically, and cut back to the epochs a resumed checkpoint has reached.
#include <mien/train/run_log.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "support/io_test.hpp"

using namespace mien;
using testing::error_of;

namespace {

std::string text_of(std::filesystem::path const& p) {
    auto const bytes = detail::read_file(p, "test");
    return {reinterpret_cast<char const*>(bytes.data()), bytes.size()};
}

std::vector<std::string> const columns{"epoch", "lr", "loss", "seconds"};

}  // namespace

TEST_CASE("run_log: rows as std::ostream writes them, header first") {
    testing::temp_dir dir;
    run_log log(dir / "log.csv", columns);
    log.start(0);
    CHECK(text_of(dir / "log.csv") == "epoch,lr,loss,seconds\n");
    double const lr = 0.0029999999, loss = 1.23456789e-5, seconds = 1234567.0;
    log.append(1, {lr, loss, seconds});
    std::ostringstream expected;  // what mien-train wrote with std::ofstream before
    expected << "epoch,lr,loss,seconds\n" << 1 << ',' << lr << ',' << loss << ',' << seconds << '\n';
    CHECK(text_of(dir / "log.csv") == expected.str());
    CHECK(text_of(dir / "log.csv") == "epoch,lr,loss,seconds\n1,0.003,1.23457e-05,1.23457e+06\n");
    CHECK_FALSE(std::filesystem::exists(detail::temp_path_for(dir / "log.csv")));
    CHECK(error_of([&] { log.append(2, {1.0}); }) == "run_log: 1 values for the 3 columns after 'epoch'");
}

TEST_CASE("run_log: a resumed run keeps the rows its checkpoint reached, and an epoch written again replaces its row") {
    testing::temp_dir dir;
    {
        run_log log(dir / "log.csv", columns);
        log.start(0);
        for (std::size_t e = 1; e <= 4; ++e) log.append(e, {double(e), 0.5, 1.0});
    }
    // Killed after epoch 4's row and before its checkpoint: the checkpoint says 3 epochs are done.
    run_log log(dir / "log.csv", columns);
    log.start(3);
    CHECK(log.rows() == 3);
    CHECK(text_of(dir / "log.csv") == "epoch,lr,loss,seconds\n1,1,0.5,1\n2,2,0.5,1\n3,3,0.5,1\n");
    log.append(4, {4.5, 0.25, 2.0});
    log.append(3, {3.5, 0.25, 2.0});  // an epoch repeated: its row replaced, the later ones gone
    CHECK(text_of(dir / "log.csv") == "epoch,lr,loss,seconds\n1,1,0.5,1\n2,2,0.5,1\n3,3.5,0.25,2\n");

    log.start(0);  // a fresh run over an old folder: the header alone
    CHECK(text_of(dir / "log.csv") == "epoch,lr,loss,seconds\n");
    std::filesystem::remove(dir / "log.csv");
    log.start(5);  // resumed, but the log is gone: a new one
    CHECK(text_of(dir / "log.csv") == "epoch,lr,loss,seconds\n");
}
