"""A small MNIST model trained once per test process, for the evaluate and predict tests.

Import the fixture into a test module: ``from mnist_model import tiny_checkpoint``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_CACHE: dict[str, Path] = {}


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """best.pt of the mlp preset trained briefly on half of MNIST (~95% test accuracy, ~4 s)."""
    if "best" not in _CACHE:
        from chainrule.mnist.config import PRESETS, replace
        from chainrule.mnist.train import train

        config = replace(
            PRESETS["mlp"],
            hidden=(256,),
            epochs=2,
            limit_train=30000,
            val_size=1000,
            limit_eval=2000,
            threads=1,
        )
        out = tmp_path_factory.mktemp("tiny-mnist")
        result = train(config, out, progress=False)
        assert result.test_accuracy > 90
        _CACHE["best"] = out / "best.pt"
    return _CACHE["best"]
