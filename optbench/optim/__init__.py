"""Optimizers and schedules: framework-neutral configs mapped onto each framework's own."""
