"""Data validation with Great Expectations: suites, learned expectations, outcome policy.

Entry points: :func:`.validate.validate_dataset` / :func:`.validate.validate_frame`,
:func:`.learn.learn_suite`, :mod:`.suite` (load/save GX suite JSON),
:class:`.policy.ValidationPolicy` and the bad-input corpus in :mod:`.corpus`.
"""
