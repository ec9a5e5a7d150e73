"""Trainers by framework; see base.make_trainer."""
