// train_your_own -- the training loop as a library: train, resume and evaluate in a few lines.
//
//   train_your_own ../shared/data/fer2013 3 runs/mine     (data root with train/ and val/, epochs, run folder)
//
// mien-train is the full command line (soft targets, distillation, class weights, ...); this is
// what a program of your own needs: a data set, a trainer, train_epoch, evaluate, and a run
// folder (best.mien, best.npz, last.ckpt, log.csv) that resumes where Ctrl-C or a crash stopped.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <mien/data/image_folder.hpp>
#include <mien/data/labels.hpp>
#include <mien/mien.hpp>
#include <mien/train/epoch.hpp>
#include <mien/train/evaluate.hpp>
#include <mien/train/interrupt.hpp>
#include <mien/train/metrics.hpp>
#include <mien/train/run.hpp>

int main(int argc, char** argv) try {
    std::filesystem::path const root = argc > 1 ? argv[1] : "../shared/data/fer2013";
    std::size_t const epochs = argc > 2 ? std::size_t(std::atoi(argv[2])) : 3;
    std::filesystem::path const out = argc > 3 ? argv[3] : "runs/train_your_own";
    mien::dataset const train = mien::load_image_folder(root / "train"), val = mien::load_image_folder(root / "val");

    using net_t = mien::models::fast;
    auto net = std::make_unique<net_t>();
    net->init(1);
    auto tr = std::make_unique<mien::trainer<net_t, 32, mien::adam, 2>>(*net, mien::adam_options{}, 1, 2);
    mien::run_folder run(out, mien::run_settings::of({{"seed", "1"}, {"epochs", std::to_string(epochs)}}));
    mien::run_position const at = run.start(*tr, true);  // resumes from out/last.ckpt when there is one
    mien::stop_on_interrupt();                           // Ctrl-C: a checkpoint, then exit
    for (std::size_t e = at.epoch; e < epochs; ++e) {
        mien::epoch_options o;  // seeded shuffle, augmentation and dropout: the same weights on every run
        o.epoch = e;
        o.first_batch = e == at.epoch ? at.batch : 0;
        o.total_steps = epochs * mien::batches_per_epoch(*tr, train);
        auto const r = mien::train_epoch(*tr, train, o, &mien::stop_requested());
        if (r.status == mien::epoch_result::interrupted) {
            run.save(*tr, e, r.batch);
            std::printf("stopped; run again to continue\n");
            return 130;
        }
        if (r.status == mien::epoch_result::not_finite) return 3;  // the folder keeps the last good files
        auto const v = mien::evaluate(*tr, val, {.flip = true});
        run.finish_epoch(*tr, e, r, v, 0.0);  // best.mien if better, log.csv, last.ckpt
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
