"""MLOps level 2: CI/CD of the training pipeline, then continuous training with the new image."""

from __future__ import annotations

from airflow_mlops.cicd import CICDConfig
from airflow_mlops.ct.triggers import TriggerPolicy
from airflow_mlops.local.demo.pipeline import demo_pipeline
from airflow_mlops.operators.pipeline import build_cicd_dag

DOC = """
### MLOps level 2: CI/CD of the pipeline

1. **Build** the training image from the Dockerfile shipped in the package (offline
   wheelhouse, content-hash tag: an unchanged pipeline builds nothing). Base image: Variable
   `mlops_base_image`.
2. **Test** the pipeline inside the new image with pytest and airflow-mlops's plugin, locked
   down (no network, read-only data, non-root): preprocessing round trip, forward shape, loss
   falls, a few-record overfit, no NaN or inf; then the smoke model's **ONNX parity** on the
   host.
3. **Publish** it: to the repository in Variable `mlops_ecr_repository` (e.g. an ECR URI,
   credentials from the AWS connection `aws_default`), else it stays on the local engine.
4. **Deploy** the pipeline: the image reference goes into Variable `mlops_training_image`,
   which the CT DAGs' training task reads.
5. **Run CT** (`mlops_level1_ct`) with the deployed image.

Without a Docker engine (`AIRFLOW_MLOPS_TRAINING_BACKEND=local`) steps 1, 3 and 4 are skipped and
the pipeline tests run in the worker's environment.
"""

#: the CT pipeline this DAG deploys images for: its dataset, reference version and backend
ct = demo_pipeline("mlops_level1_ct", TriggerPolicy(), DOC)
dag = build_cicd_dag(
    CICDConfig.for_pipeline(ct, "mlops_level2_cicd", tags=("mlops", "level-2"), doc_md=DOC)
)
