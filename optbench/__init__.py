"""optbench: config-driven benchmarks of optimizers and architectures."""

import os

# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) is not for our users;
# set before any Keras run imports TensorFlow. An explicit setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
