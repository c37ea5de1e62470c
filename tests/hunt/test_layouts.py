"""Non-contiguous (stride-2) and broadcast-expanded (stride-0) arrays reach the backend as such."""

import numpy as np

from conformance.backends.plugins import load_backend
from conformance.hunt.audit import audit_backend, purpose_cases
from conformance.hunt.profiles import PROFILES

CI = PROFILES["ci"]
LOGITS = "binary_cross_entropy_with_logits"


class _Recorder:
    """A plugin that records the strides it receives and answers with the kernel."""

    def __init__(self):
        self.strides = []

    def binary_cross_entropy_with_logits(
        self, input, target, weight=None, pos_weight=None, reduction="mean"
    ):
        from conformance.backends import numpy_kernel as K

        self.strides.append((input.strides, input.flags.c_contiguous))
        return K.binary_cross_entropy_with_logits(
            input, target, weight, pos_weight=pos_weight, reduction=reduction
        )


class _ContiguousOnly(_Recorder):
    def binary_cross_entropy_with_logits(self, input, *args, **kwargs):
        if not input.flags.c_contiguous:
            raise ValueError("input must be contiguous")
        return super().binary_cross_entropy_with_logits(input, *args, **kwargs)


def _audit(plugin):
    from conformance.backends.plugins import resolve_backend

    backend = resolve_backend(plugin, "recorder")
    return audit_backend(
        backend, CI, functions=(LOGITS,), dtypes=("float32",), purposes=("layout",)
    )


def test_layout_cases_alternate_strided_and_expanded_with_equal_rows_when_expanded():
    cases = list(purpose_cases(CI, LOGITS, "float32", 0, "layout"))
    assert {c.layout for c in cases} == {"strided", "expanded"}
    for c in cases:
        if c.layout == "expanded":
            assert (c.input == c.input[:1]).all() and (c.target == c.target[:1]).all()


def test_a_plugin_receives_stride_two_views_and_stride_zero_expansions():
    recorder = _Recorder()
    run = _audit(recorder)
    assert run.value_comparisons > 0 and not run.divergences
    assert any(not contiguous for _, contiguous in recorder.strides)
    assert any(strides[0] == 0 for strides, _ in recorder.strides)


def test_a_plugin_that_rejects_non_contiguous_input_is_a_contract_divergence():
    run = _audit(_ContiguousOnly())
    assert [d.tier for d in run.divergences] and {d.tier for d in run.divergences} == {"contract"}
    assert all(d.minimal.case.get("layout") in ("strided", "expanded") for d in run.divergences)


def test_torch_gets_the_same_layouts_as_tensors():
    import torch

    from conformance.backends.torch_backend import laid_out_tensor

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = laid_out_tensor(a, torch.from_numpy(a.copy()), "strided", "input")
    assert not t.is_contiguous() and t.stride()[-1] == 2 and t.tolist() == a.tolist()
    rows = np.tile(a[:1], (2, 1))
    e = laid_out_tensor(rows, torch.from_numpy(rows.copy()), "expanded", "input")
    assert e.stride()[0] == 0 and e.tolist() == rows.tolist()


def test_the_numpy_kernel_conforms_on_every_layout():
    run = audit_backend(load_backend("numpy"), CI, dtypes=("bfloat16",), purposes=("layout",))
    assert run.value_comparisons > 0 and not run.divergences
