"""Monitoring core: drift at scale with Evidently 0.7's tests (:mod:`.scalable`), Evidently's
report (:mod:`.evidently_report`), batch scoring and the inference log (:mod:`.scoring`), and
one monitoring run's verdict (:mod:`.monitor`)."""
