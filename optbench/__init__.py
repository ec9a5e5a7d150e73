"""optbench: config-driven benchmarks of optimizers and architectures."""

__version__ = "0.1.0"
