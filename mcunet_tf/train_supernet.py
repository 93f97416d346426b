"""python -m mcunet_tf.train_supernet: train the once-for-all supernet of one (W, R) space.

    python -m mcunet_tf.train_supernet --dataset=toy --width=0.2 --resolution=32 --epochs=4 --out=out/supernet
    python -m mcunet_tf.train_supernet --dataset=vww --data_dir=DIR --width=0.5 --resolution=96 \\
        --epochs=100 --distill --strategy=mirrored --out=out/vww_supernet

Each step trains the largest, the smallest and ``--num_random`` random sub-networks on
the same batch (the sandwich rule), with ``--distill`` adding in-place distillation from
the largest; ``--progressive_shrinking`` makes kernel size, then depth, then expand ratio
elastic over the epochs. A checkpoint is saved after every epoch and a rerun with the same
``--out`` resumes after the last one. The folder is what ``python -m mcunet_tf.search
--supernet=...`` reads. Bad input is reported in one line with exit status 2.
"""

from __future__ import annotations


from pathlib import Path

from absl import flags

from mcunet_tf.training.data import DATASETS, DataSpec
from mcunet_tf.training.spaces import SPACE_LAYOUTS, layout_space
from mcunet_tf.training.strategies import STRATEGIES
from tinyengine_gen import cli, flag_rules

__all__ = ["job_from_flags", "main"]

FLAGS = flags.FLAGS
flags.DEFINE_enum("dataset", "toy", list(DATASETS), "Training data (toy is generated in memory).")
flags.DEFINE_string("data_dir", None, "Folder of the dataset (vww, kws, imagenet).")
flags.DEFINE_float("width", 0.2, "Width multiplier W of the supernet (the space TinyNAS's first stage chose).")
flag_rules.positive_number("width")
flags.DEFINE_integer("resolution", 32, "Input resolution R of the space.", lower_bound=16)
flags.DEFINE_enum(
    "space", "auto", ["auto", *SPACE_LAYOUTS], "Layout: mcunet (six stages), tiny (four, for CPUs); auto: tiny for toy."
)
flags.DEFINE_integer("epochs", 4, "Epochs in all (a resumed run trains the remaining ones).", lower_bound=1)
flags.DEFINE_integer("batch_size", 64, "Global batch size.", lower_bound=1)
flags.DEFINE_float("learning_rate", 0.05, "Peak learning rate (SGD, Nesterov momentum 0.9).")
flag_rules.positive_number("learning_rate")
flags.DEFINE_enum("lr_schedule", "cosine", ["cosine", "constant"], "Learning-rate schedule over all epochs.")
flags.DEFINE_integer(
    "num_random", 2, "Random sub-networks per step besides the largest and the smallest.", lower_bound=0
)
flags.DEFINE_boolean("distill", False, "In-place distillation from the largest sub-network.")
flags.DEFINE_boolean("progressive_shrinking", False, "Kernel, then depth, then expand ratio become elastic.")
flags.DEFINE_integer(
    "steps_per_epoch", None, "Cap on steps per epoch (needed when the dataset size is unknown).", lower_bound=1
)
flags.DEFINE_integer("eval_batches", None, "Validation batches scored after each epoch (default: all).", lower_bound=1)
flags.DEFINE_integer("toy_classes", 4, "toy: number of shape classes.", lower_bound=2)
flags.DEFINE_integer("toy_train", 2048, "toy: training examples.", lower_bound=1)
flags.DEFINE_float("toy_noise", 0.1, "toy: standard deviation of the pixel noise.")
flag_rules.non_negative_number("toy_noise")
flags.DEFINE_integer("seed", 0, "Seed of data order and sub-network sampling.")
flags.DEFINE_string("out", "out/supernet", "Folder for the manifest, history and checkpoints (resumed if present).")
flag_rules.folder_path("out")
flags.DEFINE_enum("strategy", "default", list(STRATEGIES), "tf.distribute strategy.")


def job_from_flags():
    from mcunet_tf.training.loop import SupernetJob, TrainOptions
    from mcunet_tf.training.sandwich import SandwichOptions

    data = DataSpec(
        FLAGS.dataset,
        FLAGS.resolution,
        FLAGS.data_dir,
        seed=FLAGS.seed,
        toy_classes=FLAGS.toy_classes,
        toy_train=FLAGS.toy_train,
        toy_noise=FLAGS.toy_noise,
    )
    options = TrainOptions(
        epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate,
        lr_schedule=FLAGS.lr_schedule,
        sandwich=SandwichOptions(num_random=FLAGS.num_random, distill=FLAGS.distill),
        progressive_shrinking=FLAGS.progressive_shrinking,
        steps_per_epoch=FLAGS.steps_per_epoch,
        eval_batches=FLAGS.eval_batches,
        seed=FLAGS.seed,
    )
    layout = FLAGS.space if FLAGS.space != "auto" else ("tiny" if FLAGS.dataset == "toy" else "mcunet")
    space = layout_space(layout, FLAGS.width, FLAGS.resolution, data.num_classes)
    return SupernetJob(space, FLAGS.width, FLAGS.resolution, data, options, Path(FLAGS.out).resolve())


def main(argv: list[str]) -> int:
    from mcunet_tf.training.loop import train_supernet
    from mcunet_tf.training.strategies import make_strategy

    job = job_from_flags()
    result = train_supernet(job, strategy=make_strategy(FLAGS.strategy))
    last = result.history[-1] if result.history else {}
    print(
        f"supernet in {job.out}: {len(result.history)} epochs, val accuracy largest "
        f"{last.get('val_accuracy_largest', float('nan')):.3f}, smallest {last.get('val_accuracy_smallest', float('nan')):.3f}"
    )
    return 0


if __name__ == "__main__":
    from mcunet_tf.errors import McunetError

    cli.run(main, program="train_supernet", user_errors=(McunetError, ValueError), tensorflow=True)
