"""The mutation corpus is sound: every mutant is a real bug, the reference gets it right, and
(slow) the default hunt catches each mutant at seed 0 while the reference stays clean."""

from __future__ import annotations

import json
from pathlib import Path

import mpmath
import numpy as np
import pytest

from tests.mutation import score
from tests.mutation.mutants import DEFAULT_SCORED, MUTANTS, Mutant
from tests.mutation.reference import CLAMP_THRESHOLD, PLUGIN, CarefulBCE
from tests.mutation.witness import RAISES, judge

NAMES = sorted(MUTANTS)


def test_the_corpus_has_at_least_thirty_mutants_each_with_a_stated_derivation():
    assert len(MUTANTS) >= 30
    for name, cls in MUTANTS.items():
        assert cls.__doc__ and cls.witness.derivation, name


@pytest.mark.parametrize("name", NAMES)
def test_each_mutant_changes_behaviour_not_just_attributes(name):
    own = {k for k, v in vars(MUTANTS[name]).items() if callable(v) and not k.startswith("__")}
    assert own, f"{name} overrides no method of the reference"


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_gives_the_documented_result_on_every_witness(name):
    ok, what = judge(PLUGIN, MUTANTS[name].witness)
    assert ok, f"reference on the witness of {name}: {what}"


@pytest.mark.parametrize("name", NAMES)
def test_every_mutant_is_wrong_on_its_witness(name):
    witness = MUTANTS[name].witness
    ok, what = judge(MUTANTS[name](), witness)
    assert not ok, f"{name} conforms on its own witness ({witness.derivation}): {what}"


def test_a_witness_that_says_raise_accepts_only_an_exception():
    witness = MUTANTS["range_check_missing"].witness
    assert witness.expected == RAISES
    assert judge(PLUGIN, witness)[0]
    assert not judge(MUTANTS["range_check_missing"](), witness)[0]


def test_the_clamp_threshold_is_the_largest_float_below_e_to_the_minus_100():
    with mpmath.workprec(256):
        assert mpmath.log(CLAMP_THRESHOLD) < -100
        assert mpmath.log(np.nextafter(CLAMP_THRESHOLD, 1.0)) > -100


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_the_reference_returns_the_call_dtype_and_shape_for_zero_d_and_empty_inputs(dtype):
    from tests.mutation.reference import NUMPY_DTYPES

    dt = NUMPY_DTYPES[dtype]
    half = np.array(0.5, dtype=dt)
    for fn in (PLUGIN.binary_cross_entropy, PLUGIN.binary_cross_entropy_with_logits):
        for reduction in ("none", "mean", "sum"):
            out = np.asarray(fn(half, half, reduction=reduction))
            assert out.dtype == dt and out.shape == ()
        empty = np.zeros((0, 3), dtype=dt)
        assert np.asarray(fn(empty, empty, reduction="none")).shape == (0, 3)
        assert np.isnan(np.asarray(fn(empty, empty, reduction="mean"), dtype=np.float64))
        assert np.asarray(fn(empty, empty, reduction="sum"), dtype=np.float64) == 0


def test_the_reference_rejects_a_weight_that_would_grow_the_shape():
    x = np.full((2, 3), 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match="weight"):
        PLUGIN.binary_cross_entropy(x, x, weight=np.ones((2, 2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="pos_weight"):
        PLUGIN.binary_cross_entropy_with_logits(x, x, pos_weight=np.ones(4, dtype=np.float32))


def test_the_gradient_of_a_broadcast_pos_weight_has_its_shape():
    x = np.zeros((2, 3), dtype=np.float32)
    y = np.ones((2, 3), dtype=np.float32)
    p = np.ones(3, dtype=np.float32)
    g = PLUGIN.gradient(
        "binary_cross_entropy_with_logits",
        ("pos_weight",),
        x,
        y,
        pos_weight=p,
        reduction="sum",
        grad_output=np.ones((), dtype=np.float32),
    )["pos_weight"]
    assert g.shape == (3,)
    np.testing.assert_allclose(g, 2 * np.log(2), rtol=1e-7)  # d/dp_c = sum_n y softplus(0)


def test_a_mutant_is_caught_only_by_classes_the_reference_does_not_show(monkeypatch):
    classes = {
        score.REFERENCE: {"f/y=+inf"},
        "tests.mutation.mutants:caught": {"f/y=+inf", "f/value_mismatch"},
        "tests.mutation.mutants:noise_only": {"f/y=+inf"},
    }

    def fake_run(spec, profile, seed, workdir, extra):
        return score.Run(spec, seed, 1, set(classes[spec]))

    monkeypatch.setattr(score, "run_hunt", fake_run)
    monkeypatch.setattr(score, "run_shared", fake_run)
    reference, rows = score.score(["caught", "noise_only"], "ci", [0], [], log=lambda m: None)
    assert [(r.name, r.caught, r.escaped) for r in rows] == [
        ("caught", [0], []),
        ("noise_only", [], [0]),
    ]
    assert "mutation score: 1/2" in score.render(reference, rows, [0], markdown=True)


def _hunt(spec: str, seed: int, tmp_path: Path) -> score.Run:
    run = score.run_hunt(spec, "ci", seed, tmp_path, [])
    assert run.exit_code in (0, 1) and not run.error, run.error
    return run


def test_only_counted_tiers_are_catches(tmp_path, monkeypatch):
    report = tmp_path / "x-0.json"
    classes = [{"class_id": "a", "tier": "defect"}, {"class_id": "b", "tier": "convention"}]
    report.write_text(json.dumps({"runs": [{"status": "completed", "divergences": classes}]}))

    class Done:
        returncode = 1
        stderr = ""

    monkeypatch.setattr(score.subprocess, "run", lambda *a, **k: Done())
    monkeypatch.setattr(score, "REPO", tmp_path)
    run = score.run_hunt("x", "ci", 0, tmp_path, [])
    assert run.outside == {"b"} and run.classes == {"a", "b"}


def test_the_reference_is_clean_at_seed_0_inside_the_documented_contract(tmp_path):
    run = _hunt(score.REFERENCE, 0, tmp_path)
    assert run.classes - run.outside == set()


@pytest.fixture(scope="module")
def reference_at_seed_0(tmp_path_factory):
    return _hunt(score.REFERENCE, 0, tmp_path_factory.mktemp("reference"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DEFAULT_SCORED))
def test_the_default_hunt_catches_each_mutant_at_seed_0(name, reference_at_seed_0, tmp_path):
    run = _hunt(f"tests.mutation.mutants:{name}", 0, tmp_path)
    new = run.classes - reference_at_seed_0.classes - run.outside
    assert new, f"{name} escapes the ci hunt at seed 0: {MUTANTS[name].__doc__}"


def test_mutants_are_reference_subclasses():
    assert all(issubclass(cls, Mutant) and issubclass(cls, CarefulBCE) for cls in MUTANTS.values())


@pytest.mark.slow
def test_the_harness_judges_every_replayable_witness_as_the_closed_form_does(tmp_path):
    """The oracle and the comparison see each bug once its input is drawn: the reference
    conforms on every witness and each mutant diverges on its own (about 2 minutes)."""
    results = score.replay_witnesses(NAMES, tmp_path)
    assert results.pop("reference") == "conforms"
    wrong = {n: v for n, v in results.items() if v != "caught" and not v.startswith("not replay")}
    assert wrong == {}
