"""Handwritten digit recognition on MNIST with PyTorch (section 1.4 of the exercise sheet).

- :mod:`chainrule.mnist.data`: IDX reader, checksums, validation split, batches, augmentation
- :mod:`chainrule.mnist.config`: ``TrainConfig`` and the presets (mlp, examples, fast, best)
- :mod:`chainrule.mnist.models`: the networks
- :mod:`chainrule.mnist.train`: training, checkpoints, resume, DistributedDataParallel

Import the submodules directly; this package imports nothing heavy itself.
"""
