"""The training loop: set the holdout aside, split the rest into training and validation rows,
fit preprocessing on the training rows, train with early stopping on the validation rows, log
one line per epoch, write the checkpoint.

The holdout (:mod:`airflow_mlops.data.holdout`) is the rows the gate scores champion and
challenger on; no step here sees them. Its rule, row count and md5 go into the metrics.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_mlops.data.holdout import SplitRule, split
from airflow_mlops.errors import ConfigError, DataError, TrainingError
from airflow_mlops.training.checkpoint import save_checkpoint
from airflow_mlops.training.checks import check_training_data
from airflow_mlops.training.model import build_model, model_config_for
from airflow_mlops.training.preprocessing import Preprocessor, fit_preprocessor, infer_task

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch

    from airflow_mlops.training.config import TrainingConfig

Log = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


def resolve_device(requested: str) -> tuple[str, str]:
    """``(device, reason)``: ``"auto"`` picks CUDA when torch sees a GPU, else the CPU."""
    import torch

    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise ConfigError(
            "device='cuda' was requested but torch sees no CUDA device "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}).",
            hint="Run on a GPU machine with the NVIDIA runtime, or set device='auto' or 'cpu'.",
        )
    if requested == "cpu":
        return "cpu", "device='cpu' was requested"
    if available:
        return "cuda", f"CUDA device {torch.cuda.get_device_name(0)}"
    return "cpu", f"no CUDA device visible to torch {torch.__version__} (CUDA build: " + (
        f"{torch.version.cuda})" if torch.version.cuda else "none)"
    )


def split_indices(
    labels: np.ndarray | None, n_rows: int, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation row indices; stratified by class when ``labels`` is given."""
    import numpy as np

    if n_rows < 4:
        raise DataError(
            f"Only {n_rows} rows: too few to split into training and validation.",
            hint="Train on a dataset with more rows.",
        )
    rng = np.random.default_rng(seed)
    groups = (
        [np.arange(n_rows)]
        if labels is None
        else [np.flatnonzero(labels == value) for value in np.unique(labels)]
    )
    train, val = [], []
    for group in groups:
        shuffled = rng.permutation(group)
        n_val = min(len(shuffled) - 1, max(1, round(len(shuffled) * val_fraction)))
        val.append(shuffled[:n_val])
        train.append(shuffled[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def train(
    frame: pd.DataFrame,
    config: TrainingConfig,
    output_dir: str | Path,
    *,
    log: Log = _print,
) -> dict[str, Any]:
    """Train on the rows of ``frame`` outside the holdout; write model.pt, config.json and
    metrics.json to ``output_dir``.

    :returns: the metrics dict (also in metrics.json), with ``holdout_rows``,
        ``holdout_md5`` and ``split_rule`` (the rows no step of training saw).
    :raises DataError: the data does not fit the config (missing, all-null or constant label,
        missing or duplicated ids, ...; :func:`~airflow_mlops.training.checks.check_training_data`).
    :raises ConfigError: a regression task on labels that are not numbers.
    :raises TrainingError: the loss became NaN or infinite.
    """
    import torch

    # before anything else: a duplicated id would otherwise straddle the holdout split
    check_training_data(frame, config)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    device, reason = resolve_device(config.device)
    log(f"device: {device} ({reason})")

    held = split(frame, SplitRule(config.holdout_fraction, config.id_column))
    log(
        f"holdout: {len(held.holdout)} of {len(frame)} rows set aside for the gate "
        f"(md5 {held.md5}); training sees the other {len(held.train)}"
    )
    frame = held.train
    labels = frame[config.label]
    stratify = None
    if infer_task(labels, config.task) == "classification":
        stratify = labels.astype("category").cat.codes.to_numpy()
    train_rows, val_rows = split_indices(stratify, len(frame), config.val_fraction, config.seed)
    train_frame, val_frame = frame.iloc[train_rows], frame.iloc[val_rows]
    preprocessor = fit_preprocessor(train_frame, config)
    model_config = model_config_for(config, preprocessor)
    model = build_model(config.model_factory, model_config).to(device)
    n_parameters = sum(p.numel() for p in model.parameters())
    log(
        f"data: {len(train_frame)} training rows, {len(val_frame)} validation rows, "
        f"{preprocessor.n_inputs} inputs ({len(preprocessor.numeric_columns)} numeric, "
        f"{len(preprocessor.categorical_columns)} categorical), task {preprocessor.task}, "
        f"{n_parameters} parameters"
    )
    x_train, y_train = _tensors(train_frame, preprocessor, device)
    x_val, y_val = _tensors(val_frame, preprocessor, device)

    fit = _fit(model, config, preprocessor, (x_train, y_train), (x_val, y_val), device, log)
    model.load_state_dict(fit["best_state"])
    metrics = {
        **fit["metrics"],
        "device": device,
        "device_reason": reason,
        "mixed_precision": fit["amp"],
        "task": preprocessor.task,
        "n_train": len(train_frame),
        "n_val": len(val_frame),
        "holdout_rows": len(held.holdout),
        "holdout_md5": held.md5,
        "split_rule": held.rule.to_lineage(),
        "n_inputs": preprocessor.n_inputs,
        "n_parameters": int(n_parameters),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "seed": config.seed,
    }
    save_checkpoint(
        output_dir,
        state_dict=model.state_dict(),
        preprocessor=preprocessor,
        model_config=model_config,
        model_factory=config.model_factory,
        config=config.to_dict(),
        metrics=metrics,
    )
    log(
        f"done: best epoch {metrics['best_epoch']}/{metrics['epochs_run']}, "
        f"val_loss {metrics['val_loss']:.4f}, {_metric_name(preprocessor)} "
        f"{metrics[_metric_name(preprocessor)]:.4f}, {metrics['train_seconds']:.1f} s; "
        f"checkpoint in {output_dir}"
    )
    return metrics


def train_file(
    data: str | Path, config: TrainingConfig, output_dir: str | Path, *, log: Log = _print
) -> dict[str, Any]:
    """Read a CSV/Parquet table and :func:`train` on it."""
    from airflow_mlops.data.io import read_table

    frame = read_table(data)
    log(f"read {len(frame)} rows x {len(frame.columns)} columns from {data}")
    return train(frame, config, output_dir, log=log)


def _metric_name(preprocessor: Preprocessor) -> str:
    return "val_accuracy" if preprocessor.task == "classification" else "val_rmse"


def _tensors(
    frame: pd.DataFrame, preprocessor: Preprocessor, device: str
) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    features = torch.from_numpy(preprocessor.transform(frame)).to(device)
    target = torch.from_numpy(preprocessor.encode_target(frame[preprocessor.label])).to(device)
    return features, target


def _fit(
    model: torch.nn.Module,
    config: TrainingConfig,
    preprocessor: Preprocessor,
    train_set: tuple[torch.Tensor, torch.Tensor],
    val_set: tuple[torch.Tensor, torch.Tensor],
    device: str,
    log: Log,
) -> dict[str, Any]:
    import torch

    classification = preprocessor.task == "classification"
    loss_fn = torch.nn.CrossEntropyLoss() if classification else torch.nn.MSELoss()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    amp = config.mixed_precision and device == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    generator = torch.Generator().manual_seed(config.seed)
    x_train, y_train = train_set
    n_train = len(x_train)
    metric_name = _metric_name(preprocessor)

    def predict_loss(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            out = model(x)
        out = out.float()
        return out, loss_fn(out, y if classification else y.view(-1, 1))

    best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0
    history: list[dict[str, float]] = []
    seconds = 0.0
    epoch = 0
    for epoch in range(1, config.max_epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n_train, generator=generator).to(device)
        total, seen = 0.0, 0
        for start in range(0, n_train, config.batch_size):
            batch = order[start : start + config.batch_size]
            if len(batch) < 2 and seen:  # batch norm cannot train on one row
                continue
            optimizer.zero_grad(set_to_none=True)
            _, loss = predict_loss(x_train[batch], y_train[batch])
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += float(loss.detach()) * len(batch)
            seen += len(batch)
        if device == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - started
        seconds += elapsed
        train_loss = total / max(seen, 1)
        val_loss, metric = _evaluate(model, val_set, predict_loss, preprocessor)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            raise TrainingError(
                f"The loss became {train_loss if not math.isfinite(train_loss) else val_loss} "
                f"at epoch {epoch} (learning_rate={config.learning_rate}).",
                hint="Lower learning_rate, check the data for extreme values, or disable "
                "mixed_precision.",
                details={"history": history},
            )
        history.append(
            {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, metric_name: metric}
        )
        improved = val_loss < best_loss - 1e-6
        if improved:
            best_loss, best_epoch, stale = val_loss, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        log(
            f"epoch {epoch:>3}/{config.max_epochs} | train_loss {train_loss:.4f} | "
            f"val_loss {val_loss:.4f} | {metric_name} {metric:.4f} | "
            f"{seen / max(elapsed, 1e-9):,.0f} samples/s | {elapsed:.2f} s"
            + (" *" if improved else "")
        )
        if stale >= config.patience:
            log(f"early stop: no better val_loss for {config.patience} epochs")
            break
    best = history[best_epoch - 1]
    return {
        "best_state": best_state,
        "amp": amp,
        "metrics": {
            "val_loss": best["val_loss"],
            metric_name: best[metric_name],
            "train_loss": best["train_loss"],
            "epochs_run": epoch,
            "best_epoch": best_epoch,
            "train_seconds": round(seconds, 4),
            "samples_per_second": round(n_train * epoch / max(seconds, 1e-9), 1),
            "history": history,
        },
    }


def _evaluate(
    model: torch.nn.Module,
    val_set: tuple[torch.Tensor, torch.Tensor],
    predict_loss: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    preprocessor: Preprocessor,
) -> tuple[float, float]:
    """Validation loss (on the standardized target for regression) and accuracy
    (classification) or RMSE in the label's units (regression)."""
    import torch

    model.eval()
    x_val, y_val = val_set
    with torch.no_grad():
        out, loss = predict_loss(x_val, y_val)
    if preprocessor.task == "classification":
        metric = float((out.argmax(dim=1) == y_val).float().mean())
    else:
        error = torch.sqrt(torch.mean((out.view(-1) - y_val) ** 2))
        metric = float(error) * preprocessor.target_std
    return float(loss), metric
