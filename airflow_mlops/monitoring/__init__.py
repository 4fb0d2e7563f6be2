"""Monitoring core: drift at scale with Evidently 0.7's tests (:mod:`.scalable`, which plans the
streamed passes of :mod:`.passes` and tests each column in :mod:`.column_drift`), Evidently's
report (:mod:`.evidently_report`), batch scoring and the inference log (:mod:`.scoring`), and
one monitoring run's verdict (:mod:`.monitor`)."""
