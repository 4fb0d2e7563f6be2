"""The gate's holdout: the challenger's own held-out rows, big enough, and a memorising
challenger cannot win on them (no MLflow: the registry calls are not needed here)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from airflow_mlops.data.holdout import SplitRule, row_keys, split
from airflow_mlops.errors import ConfigError, DataError
from airflow_mlops.lineage import PARAMS_TAG, SPLIT_RULE_TAG
from airflow_mlops.model_registry.client import ModelVersionRef
from airflow_mlops.model_registry.evaluation import (
    GIVEN,
    RECORDED,
    _champion_rule_note,
    _holdout,
    recorded_rule,
)
from airflow_mlops.model_registry.gate import Evaluation, Gate, GateConfig, score_metrics
from airflow_mlops.model_registry.significance import compare_on_rows

FEATURES = [f"f{i}" for i in range(8)]


def version(params: dict | None = None, **tags: str) -> ModelVersionRef:
    if params is not None:
        tags[PARAMS_TAG] = json.dumps(params)
    return ModelVersionRef("model", "2", None, (), tags)


def dataset(rows: int = 600) -> pd.DataFrame:
    x, y = make_classification(rows, n_features=8, n_informative=5, flip_y=0.1, random_state=0)
    return pd.DataFrame(x, columns=FEATURES).round(6).assign(label=y)


def test_the_gate_scores_the_rows_the_challenger_held_out():
    data = dataset()
    challenger = version({"label": "label", "holdout_fraction": 0.25})
    holdout, record = _holdout(data, challenger, RECORDED, GateConfig())
    expected = split(data, SplitRule(0.25))
    assert holdout.equals(expected.holdout)
    assert record == {
        "split_rule": expected.rule.to_lineage(),
        "md5": expected.md5,
        "rows": len(expected.holdout),
        "data_rows": len(data),
    }
    given, record = _holdout(data, challenger, None, GateConfig())
    assert given is data and record["split_rule"] == GIVEN


def test_a_memorising_challenger_cannot_beat_an_honest_champion_on_the_holdout():
    data = dataset()
    challenger = version({"label": "label"})
    holdout, _ = _holdout(data, challenger, RECORDED, GateConfig())
    train = split(data, recorded_rule(challenger)).train
    honest = LogisticRegression().fit(train[FEATURES], train["label"])
    # a lookup table of every training row: perfect on them, a coin toss elsewhere
    table = dict(zip(row_keys(train[FEATURES]), train["label"], strict=True))
    rng = np.random.default_rng(0)

    def memorised(rows: pd.DataFrame) -> np.ndarray:
        guess = [table.get(key, rng.integers(0, 2)) for key in row_keys(rows[FEATURES])]
        return np.eye(2)[guess]

    # on its own training rows the memoriser looks perfect (what scoring the training file saw)
    on_train = score_metrics("classification", train["label"].to_numpy(), memorised(train), [0, 1])
    assert on_train["accuracy"] == 1.0
    truth = holdout["label"].to_numpy()
    mine, theirs = memorised(holdout), honest.predict_proba(holdout[FEATURES])
    comparison = compare_on_rows("accuracy", 1, truth, mine, theirs, [0, 1], resamples=500)
    assert comparison["improvement"]["high"] < 0  # worse beyond noise

    def evaluation(version: str, scores: np.ndarray, paired: dict | None) -> Evaluation:
        metrics = score_metrics("classification", truth, scores, [0, 1])
        return Evaluation(version, "classification", len(truth), metrics, paired=paired)

    decision = Gate(GateConfig(tolerance=0.02)).compare(
        evaluation("2", mine, comparison), evaluation("1", theirs, None)
    )
    assert not decision.accepted
    assert "not better than champion v1 beyond noise" in decision.reasons[0]


def test_a_holdout_too_small_fails_before_any_scoring_and_says_what_to_do():
    data = dataset(60)
    with pytest.raises(
        DataError, match=r"holdout has \d+ rows; the paired test needs at least 30"
    ) as caught:
        _holdout(data, version({}), RECORDED, GateConfig())
    assert "raise holdout_fraction (now 0.2) or add data" in str(caught.value)
    _holdout(data, version({}), RECORDED, GateConfig(min_holdout_rows=5))


def test_bad_split_rules_are_refused():
    with pytest.raises(ConfigError, match="split_rule='all'"):
        _holdout(dataset(), version({}), "all", GateConfig())
    with pytest.raises(DataError, match="is not a JSON object"):
        recorded_rule(version(**{PARAMS_TAG: "[1, 2]"}))
    assert recorded_rule(version()) == SplitRule()


def test_a_champion_judged_under_another_rule_is_noted():
    record = {"split_rule": SplitRule().to_lineage()}
    assert _champion_rule_note(None, record) is None
    same = version(**{SPLIT_RULE_TAG: record["split_rule"]})
    assert _champion_rule_note(same, record) is None
    assert "records no split rule" in _champion_rule_note(version(), record)
    other = version(**{SPLIT_RULE_TAG: SplitRule(0.3).to_lineage()})
    assert "another split rule" in _champion_rule_note(other, record)
