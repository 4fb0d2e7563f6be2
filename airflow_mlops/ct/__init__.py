"""Continuous-training pipelines as plain data: trigger policy, run params, task plan."""
