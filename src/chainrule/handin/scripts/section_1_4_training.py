"""Section 1.4 of exercise 1, reproduced with chainrule: the report's two digit recognizers.

Trains, on MNIST and with the report's recipes, the baseline of the sheet's kind
(preset ``mlp``: 784 -> 512 -> 10, about 98% test accuracy) and the quick budget's
best model (preset ``fast``: a small CNN, about 99% in one epoch), then prints each
one's test accuracy. A few minutes on a 2-core laptop; ``--subset N`` trains on
the first N training images only (a check in seconds). The MNIST files come from
chainrule's data folder or are downloaded on first use (11 MB); ``--data DIR``
names another folder. The notebook exercise_1.ipynb does the same in plain PyTorch.

Run it with ``python section_1_4_training.py`` (``--preset best`` is the full
budget's recipe: about a quarter of an hour; 18 epochs, or 8 of a network 24
channels wide where training runs in float32).
"""

from __future__ import annotations

import argparse
import dataclasses

from chainrule.mnist.config import PRESETS
from chainrule.mnist.train import train
from chainrule.report.budget import BUDGETS
from chainrule.report.digits import train_config

QUICK = BUDGETS["quick"]
DEFAULT_PRESETS = (QUICK.baseline_preset, QUICK.best_preset)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", choices=sorted(PRESETS),
                        help="a recipe to train (repeatable; default: "
                        f"{' and '.join(DEFAULT_PRESETS)})")
    parser.add_argument("--subset", type=int, default=0, metavar="N",
                        help="train on the first N training images only (0: all)")
    parser.add_argument("--data", metavar="DIR", help="folder with the four MNIST IDX files")
    args = parser.parse_args(argv)
    if args.subset < 0:
        parser.error("--subset must be 0 (all) or a positive number of images")
    summary = []
    for preset in args.preset or DEFAULT_PRESETS:
        config = dataclasses.replace(train_config(QUICK, preset), limit_train=args.subset,
                                     data_dir=args.data)
        if args.subset:  # a preset's batch of 512 would leave a small subset a few steps
            config = dataclasses.replace(config, batch_size=min(config.batch_size, 128))
        subset = f", first {args.subset} training images" if args.subset else ""
        print(f"\n== preset {preset}: {config.model} network, {config.epochs} epoch(s){subset}")
        result = train(config, progress=True)
        summary.append((preset, result.test_accuracy, result.seconds))
    print("\npreset  test accuracy  seconds")
    for preset, accuracy, seconds in summary:
        print(f"{preset:<6}  {accuracy:>12.2f}%  {seconds:>7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
