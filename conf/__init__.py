"""Makes conf/ importable as optbench.conf so Hydra finds it in editable installs and wheels."""
