"""Bad input, fuzzed with hypothesis: the trigger form, the pipeline config, every operator.

Every argument gets two strategies: values it must accept and values it must refuse (path
traversal, option-like and shell-metacharacter strings, control characters and NUL bytes,
unicode look-alikes, very long strings, huge, negative and non-finite numbers, wrong types,
unknown enum values). Property: accept <=> valid. A refusal must happen before any work (when
the DAG is parsed for literal values, first thing in ``execute`` for rendered templates) and name
the argument. The trigger form's JSON schema (``dag.params``) must refuse what the server-side
check refuses.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_mlops.ct.params import FIELDS, parse_run_params
from airflow_mlops.errors import ConfigError
from airflow_mlops.operators.exceptions import InvalidArgumentError, MlopsTaskError
from tests.support.context import make_task_context

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- strategies -------------------------------------------------------------------------------

TOKEN = st.from_regex(r"\A[a-z][a-z0-9]{0,8}\Z")
CONTROL = st.sampled_from(["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x08"])
SHELL = st.sampled_from([";", "$(", "`", "|", "&", ">", "<", " ", "'", '"', "\\", "*", "!"])
#: non-ASCII letters and digits, look-alikes, zero-width and bidi controls, an emoji
UNICODE = st.sampled_from(["ä", "\u0661", "\uff56", "\u200b", "\u202e", "😀", "\u0131", "\u2215"])


def infixed(middle: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``<token><middle><token>``, e.g. ``v1;rm`` or ``v1\\x00x``."""
    return st.builds(lambda a, m, b: a + m + b, TOKEN, middle, TOKEN)


INJECTION = st.one_of(
    infixed(SHELL),
    st.builds(lambda c: f"v1$({c})", TOKEN),
    st.builds(lambda c: f"`{c}`", TOKEN),
    st.builds(lambda c: f"v1\n{c}", TOKEN),
)
OPTION_LIKE = st.one_of(
    st.builds(lambda c: f"-{c}", TOKEN),
    st.builds(lambda c: f"--upload-pack={c}", TOKEN),
    st.just("--"),
)
TRAVERSAL = st.one_of(
    st.builds(lambda c: f"../{c}", TOKEN),
    st.builds(lambda a, b: f"{a}/../../{b}", TOKEN, TOKEN),
    st.builds(lambda c: f"/etc/{c}", TOKEN),
    st.just(".."),
)
#: texts every check refuses: empty, blank, control characters, too long
BAD_TEXT = st.one_of(
    st.sampled_from(["", " ", "\t"]),
    infixed(CONTROL),
    st.integers(4097, 6000).map(lambda n: "a" * n),
)
NOT_TEXT = st.one_of(
    st.booleans(),
    st.floats(allow_nan=True),
    st.lists(TOKEN, max_size=2),
    st.dictionaries(TOKEN, TOKEN, max_size=1),
)
BAD_NUMBER = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 10**30, -(10**30), True, False]),
    st.sampled_from(["1", "ten", "1e3", [1], {"v": 1}]),
)


@dataclasses.dataclass(frozen=True)
class Kind:
    """What an argument accepts (``valid``) and what it must refuse (``invalid``)."""

    valid: st.SearchStrategy[Any]
    refused: st.SearchStrategy[Any]
    none_ok: bool = True

    @property
    def invalid(self) -> st.SearchStrategy[Any]:
        return self.refused if self.none_ok else self.refused | st.none()

    def or_none(self) -> Kind:
        return Kind(self.valid | st.none(), self.refused, none_ok=True)

    def required(self) -> Kind:
        return dataclasses.replace(self, none_ok=False)


def pattern_kind(valid_regex: str, *extra_invalid: st.SearchStrategy[Any]) -> Kind:
    return Kind(
        st.from_regex(valid_regex),
        st.one_of(INJECTION, OPTION_LIKE, BAD_TEXT, NOT_TEXT, infixed(UNICODE), *extra_invalid),
    ).required()


REV = Kind(
    st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._/-]{0,40}\Z").filter(lambda s: ".." not in s),
    st.one_of(
        INJECTION,
        OPTION_LIKE,
        TRAVERSAL,
        BAD_TEXT,
        infixed(UNICODE),
        st.sampled_from(["a..b", "v1^{commit}", "HEAD~1", "@{-1}", "v1:x", "a" * 101]),
        st.floats(allow_nan=True),
        st.booleans(),
        st.lists(TOKEN, max_size=2),
        st.integers(max_value=-1),
    ),
).required()
NAME = pattern_kind(r"\A[A-Za-z][A-Za-z0-9_.-]{0,40}\Z", st.just("1abc"), st.just("a" * 101))
#: locations the DAG author chooses: absolute and relative paths, spaces and unicode allowed
PATH = Kind(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=60).filter(
        lambda s: s.strip() and not s.startswith("-")
    ),
    st.one_of(OPTION_LIKE, BAD_TEXT, NOT_TEXT, infixed(st.just("\x00"))),
).required()
RELATIVE = Kind(
    st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}){0,3}\Z"),
    st.one_of(TRAVERSAL, OPTION_LIKE, BAD_TEXT, NOT_TEXT, st.sampled_from([".", "./", "a\\..\\b"])),
).required()
GIT_SOURCE = Kind(
    st.one_of(
        st.builds(lambda a, b: f"/srv/{a}/{b}", TOKEN, TOKEN),
        st.builds(lambda a: f"https://git.example.com/{a}.git", TOKEN),
        st.builds(lambda a: f"git@github.com:team/{a}.git", TOKEN),
    ),
    st.one_of(
        OPTION_LIKE,
        BAD_TEXT,
        NOT_TEXT,
        st.builds(lambda c: f"ext::sh -c touch% /tmp/{c}", TOKEN),
        st.builds(lambda c: f"fd::17/{c}", TOKEN),
    ),
).required()
IMAGE = Kind(
    st.builds(
        lambda host, path, tag: f"{host}{path}{tag}",
        st.sampled_from(["", "registry.example.com:5000/", "ghcr.io/", "localhost/"]),
        st.from_regex(r"\A[a-z0-9]+([._-][a-z0-9]+){0,2}(/[a-z0-9]+([._-][a-z0-9]+){0,2}){0,2}\Z"),
        st.sampled_from(["", ":latest", ":1.2.3", "@sha256:" + "a" * 64]),
    ),
    st.one_of(
        INJECTION,
        OPTION_LIKE,
        BAD_TEXT,
        NOT_TEXT,
        infixed(UNICODE),
        st.sampled_from(["Train:latest", "train:", "train@sha256:xyz", "a//b", "train:la test"]),
    ),
).required()
MD5 = pattern_kind(r"\A[0-9a-f]{32}(\.dir)?\Z", st.just("0" * 31), st.just("A" * 32))
SHA256 = Kind(st.from_regex(r"\A[0-9a-f]{64}\Z"), st.one_of(INJECTION, st.just("f" * 63)))
VERSION = Kind(
    st.integers(1, 10**9) | st.integers(1, 10**9).map(str),
    # "" means "not set" where a version is optional
    st.one_of(
        INJECTION, OPTION_LIKE, infixed(CONTROL), st.sampled_from(["0", "-1", "1.5", "v1", " "])
    ),
)
ALIAS = pattern_kind(r"\A[a-z_][a-z0-9_-]{0,30}\Z", st.sampled_from(["latest", "v3", "V12"]))
#: MLflow reserves these alias forms
ALIAS = dataclasses.replace(
    ALIAS, valid=ALIAS.valid.filter(lambda a: a != "latest" and not re.fullmatch(r"v[0-9]+", a))
)
VERSION_OR_ALIAS = Kind(
    VERSION.valid | ALIAS.valid,
    ALIAS.invalid.filter(lambda v: v is None or not str(v).isdigit() or str(v) == "0"),
)
SIZE = Kind(
    st.integers(1, 2**40) | st.from_regex(r"\A[1-9][0-9]{0,5}[bkmg]\Z"),
    st.one_of(
        st.sampled_from(["1g,exec,suid", "1g;rm", "-1", "0", "4 g", "4gb", "1.5g", "", "g"]),
        st.sampled_from([math.nan, math.inf, 1.5, True, [1], {"size": 1}]),
        st.integers(max_value=0),
        st.integers(min_value=2**63),
    ),
)
BOOL = Kind(st.booleans(), st.sampled_from(["true", "yes", 1, 0, None, [], "False"]))
MAPPING = Kind(
    st.dictionaries(TOKEN, st.integers(), max_size=3),
    st.one_of(
        st.integers(), st.lists(st.integers(), max_size=2), st.just("not a dict"), st.just("[1, 2]")
    ),
)


def ints(low: int, high: int) -> Kind:
    return Kind(
        st.integers(low, high),
        st.one_of(
            st.integers(max_value=low - 1),
            st.integers(min_value=high + 1),
            st.floats(allow_nan=True),
            BAD_NUMBER,
        ),
    ).required()


def numbers(low: float, high: float, *, open_low: bool = False) -> Kind:
    valid = st.floats(low, high, exclude_min=open_low) | st.integers(
        math.ceil(low) + open_low, math.floor(high)
    )
    return Kind(
        valid,
        st.one_of(
            st.floats(max_value=low, exclude_max=not open_low),
            st.floats(min_value=high, exclude_min=True),
            BAD_NUMBER,
        ),
    ).required()


def choice(*options: str) -> Kind:
    return Kind(
        st.sampled_from(options),
        st.one_of(
            st.sampled_from([o.upper() for o in options] + [f" {options[0]}", "", "unknown"]),
            INJECTION,
            NOT_TEXT,
            st.none(),
        ),
    )


def text(max_length: int) -> Kind:
    return Kind(
        st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(
            str.strip
        ),
        st.one_of(BAD_TEXT, NOT_TEXT, st.just("a" * (max_length + 1))),
    ).required()


# --- the trigger form and its server-side check -----------------------------------------------


def param_bad(field) -> st.SearchStrategy[Any]:
    """Values the run parameter ``field`` must refuse."""
    if field.type == "string":
        return REV.invalid
    if field.type == "boolean":
        return BOOL.invalid
    if field.type == "array":
        return st.one_of(
            st.just([]),
            st.lists(st.integers(1, 64), min_size=7, max_size=9),
            st.lists(
                st.integers(max_value=0) | st.integers(min_value=4097) | BAD_NUMBER, min_size=1
            ),
            st.just("64,32"),
            st.integers(),
        )
    low, high = field.minimum, field.maximum
    out_of_range = st.floats(max_value=low, exclude_max=True) | st.floats(
        min_value=high, exclude_min=True
    )
    if field.type == "integer":
        out_of_range |= st.integers(max_value=int(low) - 1) | st.integers(min_value=int(high) + 1)
        out_of_range |= st.floats(low, high).filter(lambda f: not f.is_integer())
    return BAD_NUMBER | st.none() | out_of_range


#: any JSON value at all: what a REST client may send
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=2)
    ),
    max_leaves=6,
)


def field_value(field) -> st.SearchStrategy[Any]:
    """Valid, invalid and arbitrary values for one run parameter."""
    if field.type == "string":
        valid = REV.valid
    elif field.type == "boolean":
        valid = st.booleans()
    elif field.type == "array":
        valid = st.lists(st.integers(1, 4096), min_size=1, max_size=6)
    elif field.type == "integer":
        valid = st.integers(int(field.minimum), int(field.maximum))
    else:
        valid = st.floats(field.minimum, field.maximum)
    return st.one_of(valid, param_bad(field), JSON_VALUE)


@pytest.fixture(scope="module")
def dag_params():
    """The trigger form of the demo level-1 DAG (``dag.params``), as the UI gets it."""
    from airflow_mlops.ct.triggers import TriggerPolicy
    from airflow_mlops.local.demo.pipeline import demo_pipeline
    from airflow_mlops.operators.pipeline import build_ct_dag

    config = dataclasses.replace(
        demo_pipeline("bad_input_form", TriggerPolicy(), "fuzzed"), backend="local"
    )
    return build_ct_dag(config).params


def form_accepts(dag_params, name: str, value: Any) -> bool:
    from airflow.sdk.definitions.param import ParamValidationError

    param = copy.deepcopy(dag_params.get_param(name))
    try:
        param.resolve(value)
    except ParamValidationError:
        return False
    return True


def server_refusal(name: str, value: Any) -> ConfigError | None:
    """The server-side check's error for ``{name: value}``, or None when it accepts."""
    try:
        parse_run_params({name: value})
    except ConfigError as error:
        return error
    return None


def server_accepts(name: str, value: Any) -> bool:
    error = server_refusal(name, value)
    if error is not None:
        assert f"Parameter {name!r}" in str(error) and "What to do:" in str(error), error
    return error is None


@pytest.mark.parametrize("field", FIELDS, ids=[f.name for f in FIELDS])
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_form_schema_and_server_check_agree(dag_params, field, data) -> None:
    value = data.draw(field_value(field))
    assert form_accepts(dag_params, field.name, value) == server_accepts(field.name, value), value


@pytest.mark.parametrize("field", FIELDS, ids=[f.name for f in FIELDS])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_bad_run_params_are_refused_naming_the_field(field, data) -> None:
    value = data.draw(param_bad(field))
    assert not server_accepts(field.name, value), value


def prepare_context(config, conf: dict[str, Any], events: list[dict[str, Any]] | None = None):
    """What ``PrepareCTRunOperator.execute`` reads: params merged with conf, run, events."""
    params = {f.name: conf.get(f.name, f.default) for f in FIELDS}
    params.update({k: v for k, v in conf.items() if k not in params})
    extras = [SimpleNamespace(extra=extra) for extra in events or []]
    return make_task_context(conf=conf, params=params, triggering_asset_events={"asset": extras})


@pytest.fixture(scope="module")
def prepare():
    """The run-start task of a Docker pipeline. The image's content digest is stubbed: these
    tests are about the run's inputs, and the fuzzed image names exist on no engine."""
    from airflow_mlops.ct import identity
    from airflow_mlops.ct.triggers import TriggerPolicy
    from airflow_mlops.local.demo.pipeline import demo_pipeline
    from airflow_mlops.operators.ct import PrepareCTRunOperator

    config = dataclasses.replace(
        demo_pipeline("bad_input_prepare", TriggerPolicy(), "fuzzed"), backend="docker"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identity, "image_content_digest", lambda image: "sha256:" + "0" * 64)
        yield PrepareCTRunOperator(task_id="prepare_run", config=config)


@EXAMPLES
@given(rev=REV.invalid, valid=REV.valid)
def test_run_start_refuses_a_bad_revision_from_an_asset_event(prepare, rev, valid) -> None:
    assume(rev)  # a falsy revision means "none given": the run's data_rev applies
    from airflow.sdk.exceptions import AirflowFailException

    event = {"reason": "new_data", "rev": rev}
    with pytest.raises(AirflowFailException, match="Run refused before any work: data_rev="):
        prepare.execute(prepare_context(prepare.config, {}, [event]))
    accepted = prepare.execute(
        prepare_context(prepare.config, {}, [{"reason": "new_data", "rev": valid}])
    )
    assert accepted["data_rev"] == valid


@EXAMPLES
@given(
    key=st.text(min_size=1, max_size=20).filter(
        lambda k: k not in {f.name for f in FIELDS} | {"trigger"}
    )
)
def test_run_start_refuses_unknown_parameters(prepare, key) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="Unknown parameter"):
        prepare.execute(prepare_context(prepare.config, {key: 1}))


@EXAMPLES
@given(kind=st.data())
def test_run_start_checks_the_image_variable(prepare, monkeypatch, kind) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    valid = kind.draw(IMAGE.valid)
    invalid = kind.draw(IMAGE.invalid.filter(lambda v: isinstance(v, str) and "\x00" not in v))
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_TRAINING_IMAGE", invalid)
    with pytest.raises(AirflowFailException, match="Variable mlops_training_image="):
        prepare.execute(prepare_context(prepare.config, {}))
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_TRAINING_IMAGE", valid)
    assert prepare.execute(prepare_context(prepare.config, {}))["image"] == valid


@pytest.fixture(scope="module")
def prepare_local(prepare):
    """The prepare task of a local-backend pipeline (no image needed)."""
    from airflow_mlops.operators.ct import PrepareCTRunOperator

    config = dataclasses.replace(prepare.config, backend="local")
    return PrepareCTRunOperator(task_id="prepare_run", config=config)


@EXAMPLES
@given(
    hidden=st.lists(st.sampled_from([1, 16, 64, 512, 2048, 4096]), min_size=1, max_size=6),
    epochs=st.sampled_from([1, 10, 60, 200, 1000]),
    batch=st.sampled_from([1, 8, 64, 512, 65536]),
)
def test_run_start_refuses_runs_over_the_compute_budget(
    prepare_local, hidden, epochs, batch
) -> None:
    """Each value inside its form bound, their product beyond the budget: refused before any
    work with the estimate and the limit; within it: accepted."""
    from airflow.sdk.exceptions import AirflowFailException

    conf = {"hidden_sizes": hidden, "epochs": epochs, "batch_size": batch}
    budget = prepare_local.config.compute_budget
    estimate = budget.estimate(
        {**prepare_local.config.training_params(), **parse_run_params(conf).training_params()}
    )
    over = (
        (estimate.parameters or 0) > budget.max_parameters
        or (estimate.cost or 0) > budget.max_cost
        or estimate.steps > budget.max_steps
    )
    if over:
        with pytest.raises(AirflowFailException, match="exceeds the pipeline's compute budget"):
            prepare_local.execute(prepare_context(prepare_local.config, conf))
    else:
        result = prepare_local.execute(prepare_context(prepare_local.config, conf))
        assert result["training"]["hidden_layers"] == hidden


# --- configs --------------------------------------------------------------------------------


def dataset_spec(**changes):
    from airflow_mlops.ct.config import DatasetSpec

    base = {"name": "cancer", "registry": "/srv/registry", "path": "data/cancer.csv", "label": "y"}
    return DatasetSpec(**{**base, **changes})


def pipeline_config(**changes):
    from airflow_mlops.ct.config import CTPipelineConfig

    base = {"dag_id": "ct", "model_name": "model", "dataset": dataset_spec()}
    return CTPipelineConfig(**{**base, **changes})


def trigger_policy(**changes):
    from airflow_mlops.ct.triggers import TriggerPolicy

    return TriggerPolicy(**changes)


def training_config(**changes):
    from airflow_mlops.training.config import TrainingConfig

    return TrainingConfig.from_dict({"label": "y", **changes})


CONFIG_FIELDS: dict[str, tuple[Callable[..., Any], dict[str, Kind]]] = {
    "DatasetSpec": (
        dataset_spec,
        {
            "name": NAME,
            "registry": GIT_SOURCE,
            "path": RELATIVE,
            "label": text(256),
            "task": Kind(
                st.sampled_from(["binary", "multiclass", "regression", "classification"])
                | st.none(),
                choice("binary", "multiclass", "regression").refused.filter(
                    lambda v: v is not None
                ),
            ),
            "segment_column": text(256).or_none(),
            "default_rev": REV,
            "remote_aws_conn_id": NAME.or_none(),
        },
    ),
    "CTPipelineConfig": (
        pipeline_config,
        {
            "dag_id": NAME,
            "model_name": NAME,
            "training_image": IMAGE.or_none(),
            "backend": choice("docker", "local", "kubernetes"),
            "gpu": choice("auto", "required", "none"),
            "validation_suite": PATH.or_none(),
            "validation_reference_rev": REV.or_none(),
            "mlflow_conn_id": NAME,
            "owner": text(256),
            "retries": ints(0, 10),
            "retry_delay_s": ints(1, 86_400),
            "max_active_runs": ints(1, 16),
            "training_defaults": Kind(
                st.fixed_dictionaries({}, optional={"epochs": st.integers(1, 1000)}),
                st.one_of(
                    st.just({"epoch": 3}),
                    st.fixed_dictionaries({"epochs": BAD_NUMBER}),
                    st.just("epochs=3"),
                    st.none(),
                ),
            ),
            "gate": Kind(
                st.fixed_dictionaries({}, optional={"min_improvement": st.floats(-1, 1)}),
                st.one_of(
                    st.fixed_dictionaries(
                        {
                            "min_improvement": BAD_NUMBER.filter(
                                lambda v: v not in (10**30, -(10**30))
                            )
                        }
                    ),
                    st.just({"unknown_rule": 1}),
                    st.just("strict"),
                ),
            ),
            "tags": Kind(
                st.lists(TOKEN, max_size=3).map(tuple),
                st.one_of(st.just("mlops"), st.lists(BAD_TEXT, min_size=1, max_size=2)),
            ),
        },
    ),
    "TriggerPolicy": (
        trigger_policy,
        {
            "cron": Kind(
                st.sampled_from(["0 2 * * *", "*/5 * * * *", "0 0 1 1 MON"]) | st.none(),
                st.one_of(
                    st.sampled_from(["", "0 2 * *", "0 2 * * * *", "0 2 * * $(reboot)"]),
                    st.sampled_from(["0 2 * * ;", "0\n2 * * *", 5, ["0", "2"]]),
                ),
            ),
            "on_new_data": BOOL,
            "on_drift": BOOL,
            "on_performance_drop": BOOL,
            "on_manual": BOOL,
        },
    ),
    "TrainingConfig": (
        training_config,
        {
            "hidden_layers": Kind(
                st.lists(st.integers(1, 65_536), max_size=4),
                st.one_of(
                    st.lists(st.integers(max_value=0) | st.integers(min_value=65_537), min_size=1),
                    st.lists(st.integers(1, 8), min_size=33, max_size=34),
                    st.just([8.0]),
                    st.just("64,32"),
                ),
            ),
            "learning_rate": numbers(0, 10, open_low=True),
            "dropout": Kind(
                st.floats(0, 0.99), BAD_NUMBER | st.floats(min_value=1) | st.floats(max_value=-1e-9)
            ),
            "weight_decay": numbers(0, 10),
            "batch_size": ints(1, 10_000_000),
            "max_epochs": ints(1, 10_000_000),
            "seed": ints(0, 2**32 - 1),
            "num_threads": ints(1, 1024).or_none(),
            "device": choice("auto", "cpu", "cuda"),
            "numeric_columns": Kind(
                st.lists(TOKEN, max_size=3, unique=True).filter(lambda c: "y" not in c) | st.none(),
                st.one_of(st.just("mean_area"), st.just([1, 2]), st.just([""])),
            ),
            "model_factory": Kind(
                st.just("pkg.models:build") | st.none(),
                st.one_of(INJECTION, st.just("os:system;"), st.just("pkg.models")),
            ),
        },
    ),
}
CONFIG_CASES = [(owner, name) for owner, (_, kinds) in CONFIG_FIELDS.items() for name in kinds]


@pytest.mark.parametrize(("owner", "name"), CONFIG_CASES, ids=[f"{o}.{n}" for o, n in CONFIG_CASES])
@EXAMPLES
@given(data=st.data())
def test_config_fields_accept_valid_and_refuse_invalid(owner, name, data) -> None:
    build, kinds = CONFIG_FIELDS[owner]
    build(**{name: data.draw(kinds[name].valid, label="valid")})
    bad = data.draw(kinds[name].invalid, label="invalid")
    with pytest.raises(ConfigError) as refused:
        build(**{name: bad})
    assert name in str(refused.value)


# --- operators ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("bad-input") / "data.csv"
    path.write_text("x,y\n1,0\n")
    return str(path)


def operators(data_file: str) -> dict[str, tuple[Callable[..., Any], dict[str, Any]]]:
    """Operator name -> (class, valid keyword arguments)."""
    from airflow_mlops.operators.data import DvcPullOperator
    from airflow_mlops.operators.export import ExportOnnxOperator
    from airflow_mlops.operators.model_registry import (
        EvaluateAndPromoteOperator,
        RegisterModelOperator,
        RollbackChampionOperator,
        SkipIfTrainedOperator,
    )
    from airflow_mlops.operators.monitoring import BatchPredictOperator, DriftMonitorOperator
    from airflow_mlops.operators.training import TrainInDockerOperator
    from airflow_mlops.operators.validation import ValidateDataOperator
    from airflow_mlops.sensors.data import DvcDataVersionSensor

    return {
        "DvcPullOperator": (
            DvcPullOperator,
            {"registry": "/srv/registry", "targets": ["data/cancer.csv"], "rev": "v1"},
        ),
        "DvcDataVersionSensor": (
            DvcDataVersionSensor,
            {"registry": "/srv/registry", "target": "data/cancer.csv", "dataset": "cancer"},
        ),
        "ValidateDataOperator": (
            ValidateDataOperator,
            {"dataset": "/data/batch.csv", "reference": "/data/reference.csv"},
        ),
        "TrainInDockerOperator": (
            TrainInDockerOperator,
            {
                "data_path": data_file,
                "training_params": {"label": "y"},
                "image": "airflow-mlops-train:latest",
                "docker_url": "unix:///nonexistent/docker.sock",
            },
        ),
        "ExportOnnxOperator": (ExportOnnxOperator, {"checkpoint_uri": "/ckpt"}),
        "SkipIfTrainedOperator": (
            SkipIfTrainedOperator,
            {"model_name": "m", "data_md5": "0" * 32, "training_params": {}},
        ),
        "RegisterModelOperator": (
            RegisterModelOperator,
            {"model_name": "m", "onnx_uri": "/onnx/model.onnx"},
        ),
        "EvaluateAndPromoteOperator": (
            EvaluateAndPromoteOperator,
            {"model_name": "m", "challenger_version": "3", "holdout_uri": "/data/holdout.csv"},
        ),
        "RollbackChampionOperator": (RollbackChampionOperator, {"model_name": "m"}),
        "BatchPredictOperator": (
            BatchPredictOperator,
            {"model_name": "m", "input_path": "/data/batch.csv"},
        ),
        "DriftMonitorOperator": (DriftMonitorOperator, {"model_name": "m"}),
    }


#: operator -> argument -> what it accepts and refuses
ARGUMENTS: dict[str, dict[str, Kind]] = {
    "DvcPullOperator": {
        "registry": GIT_SOURCE,
        "targets": Kind(
            st.lists(RELATIVE.valid, min_size=1, max_size=3) | RELATIVE.valid,
            st.one_of(
                st.just([]), st.lists(RELATIVE.invalid, min_size=1, max_size=2), st.integers()
            ),
        ),
        "rev": REV,
        "workspace": PATH.or_none(),
        "remote": NAME.or_none(),
        "remote_url": PATH.or_none(),
        "aws_conn_id": NAME.or_none(),
        "cache_dir": PATH.or_none(),
        "link_type": Kind(
            st.lists(
                st.sampled_from(["reflink", "hardlink", "symlink", "copy"]), min_size=1, max_size=4
            ).map(",".join),
            st.one_of(
                st.sampled_from(["", "fast", "copy,", "copy;rm -rf /", "COPY"]), NOT_TEXT, st.none()
            ),
        ),
        "jobs": ints(1, 256).or_none(),
    },
    "DvcDataVersionSensor": {
        "registry": GIT_SOURCE,
        "target": RELATIVE,
        "refs": Kind(
            st.sampled_from(["refs/tags/*", "refs/heads/main", "refs/tags/v[0-9]*"]),
            st.one_of(INJECTION, OPTION_LIKE, BAD_TEXT, st.just("tags/*"), st.none()),
        ),
        "dataset": Kind(
            st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,30}\Z"),
            st.one_of(INJECTION, OPTION_LIKE, infixed(UNICODE)),  # "" means: from the target
        ),
        "mirrors_dir": PATH.or_none(),
    },
    "ValidateDataOperator": {
        "dataset": PATH,
        "reference": PATH,
        "learned_suite_path": PATH.or_none(),
        "artifact_root": PATH.or_none(),
        "label_column": text(256).or_none(),
        "aws_conn_id": NAME.or_none(),
        "max_bytes": ints(1, 2**62).or_none(),
        "engine": choice("auto", "gx"),
    },
    "TrainInDockerOperator": {
        "image": IMAGE,
        "data_path": Kind(st.just("DATA_FILE"), PATH.invalid),
        "output_dir": PATH.or_none(),
        "training_params": Kind(st.just({"label": "y", "max_epochs": 2}), MAPPING.invalid),
        "gpu": choice("auto", "required", "none"),
        "backend": choice("docker", "local"),
        "train_timeout": Kind(
            numbers(0, 30 * 86_400, open_low=True).valid | st.just(timedelta(hours=2)),
            numbers(0, 30 * 86_400, open_low=True).invalid | st.just(timedelta(seconds=-1)),
        ),
        "mem_limit": SIZE.or_none(),
        "cpu_limit": numbers(0, 1024, open_low=True).or_none(),
        "shm_size": SIZE,
        "tmp_size": SIZE,
        "network_mode": Kind(
            st.sampled_from(["none", "bridge", "host", "container:trainer-1"]),
            st.one_of(INJECTION, OPTION_LIKE, BAD_TEXT, st.none()),
        ),
        "user": Kind(
            st.sampled_from(["1000", "1000:1000", "trainer", "trainer:staff"]) | st.none(),
            st.one_of(INJECTION, OPTION_LIKE, BAD_TEXT, st.just("1000:1000:1")),
        ),
    },
    "ExportOnnxOperator": {
        "checkpoint_uri": PATH,
        "output_uri": PATH.or_none(),
        "sample_uri": PATH.or_none(),
        "conn_id": NAME.or_none(),
        "atol": numbers(0, 1),
        "rtol": numbers(0, 1),
        "sample_rows": ints(1, 1_000_000),
        "threads": ints(1, 1024),
        "latency_batches": Kind(
            st.lists(st.integers(1, 1_000_000), max_size=3),
            st.one_of(
                st.lists(
                    st.integers(max_value=0) | st.integers(min_value=1_000_001),
                    min_size=1,
                    max_size=2,
                ),
                st.just(["1"]),
                st.just([1.5]),
                st.just([True]),
                st.integers(),
            ),
        ),
    },
    "SkipIfTrainedOperator": {
        "model_name": NAME,
        "data_md5": MD5,
        "training_params": MAPPING,
        "image_digest": text(512).or_none(),
        "mlflow_conn_id": NAME,
        "ignore_downstream_trigger_rules": BOOL,
    },
    "RegisterModelOperator": {
        "model_name": NAME,
        "onnx_uri": PATH,
        "lineage": MAPPING.or_none(),
        "training_result": MAPPING.or_none(),
        "fingerprint": SHA256.or_none(),
        "example_uri": PATH.or_none(),
        "experiment": text(500).or_none(),
        "alias": ALIAS,
        "mlflow_conn_id": NAME,
    },
    "EvaluateAndPromoteOperator": {
        "model_name": NAME,
        "challenger_version": VERSION_OR_ALIAS,
        "holdout_uri": PATH,
        "segment_column": text(256).or_none(),
        "promote": Kind(
            st.booleans() | st.sampled_from(["True", "false", "1", "no"]),
            st.sampled_from(["maybe", "2", "ja", [True]]),
        ),
        "fail_on_reject": BOOL,
        "gate": Kind(
            st.fixed_dictionaries({}, optional={"slice_tolerance": st.floats(0, 1)}),
            st.one_of(
                st.fixed_dictionaries(
                    {"slice_tolerance": st.sampled_from([math.nan, math.inf, -1.0, "x"])}
                ),
                st.just({"unknown_rule": 1}),
                st.just("strict"),
            ),
        ),
        "mlflow_conn_id": NAME,
    },
    "RollbackChampionOperator": {
        "model_name": NAME,
        "expected_champion": VERSION.or_none(),
        "mlflow_conn_id": NAME,
    },
    "BatchPredictOperator": {
        "model_name": NAME,
        "input_path": PATH,
        "alias": VERSION_OR_ALIAS,
        "version": VERSION.or_none(),
        "output_path": PATH.or_none(),
        "inference_log_root": PATH.or_none(),
        "mlflow_conn_id": NAME,
        "cache_dir": PATH.or_none(),
        "chunk_rows": ints(1, 100_000_000),
    },
    "DriftMonitorOperator": {
        "model_name": NAME,
        "alias": VERSION_OR_ALIAS,
        "reference_path": PATH.or_none(),
        "data_registry": GIT_SOURCE.or_none(),
        "inference_log_root": PATH.or_none(),
        "label_column": text(256).or_none(),
        "max_performance_drop": numbers(0, 1),
        "cache_dir": PATH.or_none(),
        "drift": Kind(
            st.fixed_dictionaries({}, optional={"drift_share": st.floats(0.01, 1)}),
            st.one_of(
                st.fixed_dictionaries(
                    {"drift_share": st.sampled_from([0, math.nan, math.inf, 2, "x"])}
                ),
                st.just({"threshold": math.inf}),
                st.just({"method": "energy"}),
                st.just({"fine_bins": -1}),
            ),
        ),
    },
}
OPERATOR_CASES = [(op, arg) for op, args in ARGUMENTS.items() for arg in args]


def context_for(operator) -> dict[str, Any]:
    """A task context: enough for ``execute`` to reach (and pass) its argument checks."""
    return make_task_context(task=operator, dag_id="bad_input", run_id="manual__1")


@pytest.mark.parametrize(
    ("op_name", "argument"), OPERATOR_CASES, ids=[f"{o}.{a}" for o, a in OPERATOR_CASES]
)
@EXAMPLES
@given(data=st.data())
def test_operator_arguments_accept_valid_and_refuse_invalid(
    data_file, op_name, argument, data
) -> None:
    """Literal values are refused when the DAG is parsed; templated ones once rendered, in
    ``execute`` before any work (the checks run before the core, which cannot raise
    :class:`InvalidArgumentError`)."""
    cls, base = operators(data_file)[op_name]
    kind = ARGUMENTS[op_name][argument]
    valid = data.draw(kind.valid, label="valid")
    valid = data_file if valid == "DATA_FILE" else valid
    invalid = data.draw(kind.invalid, label="invalid")
    kwargs = {"task_id": "t", **base}

    # valid: constructed, and the rendered-value checks pass too
    from airflow_mlops.operators.arguments import check_arguments

    operator = cls(**{**kwargs, argument: valid})
    check_arguments(operator, operator.argument_rules, rendered=True)

    if argument in cls.template_fields:
        operator = cls(**{**kwargs, argument: "{{ params.value }}"})
        setattr(operator, argument, invalid)  # what rendering the template produced
        with pytest.raises(MlopsTaskError) as refused:
            operator.execute(context_for(operator))
        if not (
            op_name == "TrainInDockerOperator" and argument in ("data_path", "training_params")
        ):
            assert isinstance(refused.value, InvalidArgumentError), refused.value
    else:
        with pytest.raises((ConfigError, MlopsTaskError)) as refused:
            cls(**{**kwargs, argument: invalid})
    message = str(refused.value)
    assert argument in message or (argument == "drift" and "drift" in message.lower()), message


def test_git_reads_an_option_like_registry_as_a_path(tmp_path: Path) -> None:
    """Under the argument checks, the core itself never lets git take a registry for an
    option (``git clone --upload-pack=<command> ...`` runs the command)."""
    from airflow_mlops.data.git_source import mirror
    from airflow_mlops.errors import DataError

    marker = tmp_path / "ran"
    registry = f"--upload-pack=touch {marker}"
    with pytest.raises(DataError, match=re.escape(f"repository '{registry}' does not exist")):
        mirror(registry, tmp_path / "mirrors")
    assert not marker.exists()
