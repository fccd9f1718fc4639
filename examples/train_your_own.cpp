// train_your_own -- the training loop as a library: train and evaluate in a few lines.
//
//   train_your_own ../shared/data/fer2013 3      (data root with train/ and val/, epochs)
//
// mien-train is the full command line (checkpoints, resume, soft targets, distillation); this
// is what a program of your own needs: a data set, a trainer, train_epoch, evaluate.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <mien/data/image_folder.hpp>
#include <mien/data/labels.hpp>
#include <mien/mien.hpp>
#include <mien/train/epoch.hpp>
#include <mien/train/evaluate.hpp>
#include <mien/train/metrics.hpp>

int main(int argc, char** argv) try {
    std::filesystem::path const root = argc > 1 ? argv[1] : "../shared/data/fer2013";
    std::size_t const epochs = argc > 2 ? std::size_t(std::atoi(argv[2])) : 3;
    mien::dataset const train = mien::load_image_folder(root / "train"), val = mien::load_image_folder(root / "val");

    using net_t = mien::models::fast;
    auto net = std::make_unique<net_t>();
    net->init(1);
    auto tr = std::make_unique<mien::trainer<net_t, 32, mien::adam, 2>>(*net, mien::adam_options{}, 1, 2);
    for (std::size_t e = 0; e < epochs; ++e) {
        mien::epoch_options o;  // seeded shuffle, augmentation and dropout: the same weights on every run
        o.epoch = e;
        o.total_steps = epochs * mien::batches_per_epoch(*tr, train);
        auto const r = mien::train_epoch(*tr, train, o);
        auto const v = mien::evaluate(*tr, val, {.flip = true});
        std::printf("epoch %zu: train loss %.4f, val accuracy %.4f\n", e + 1, r.mean_loss, v.accuracy);
    }
    auto const report = mien::report_from_confusion(mien::evaluate(*tr, val, {.flip = true}).confusion);
    for (std::size_t k = 0; k < report.per_class.size(); ++k)
        std::printf("%-9s recall %.3f  precision %.3f\n", mien::expression_names[k].data(), report.per_class[k].recall,
                    report.per_class[k].precision);
    return 0;
} catch (std::exception const& e) {
    std::fprintf(stderr, "train_your_own: %s\n", e.what());
    return 1;
}
