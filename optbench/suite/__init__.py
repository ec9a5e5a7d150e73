"""`optbench suite`: a fixed set of workloads, each with a target and a step budget, run for
one optimizer and scored against shipped baselines the way MLCommons AlgoPerf scores."""
