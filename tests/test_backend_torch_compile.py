"""The torch-compile adapter reports what Inductor's compiled code does, not eager torch's.

Each test compiles (the first one builds Inductor's C++ toolchain state: about 20 s cold), so
they share one backend per module and few signatures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conformance.backends.protocol import Call

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tc():
    from conformance.backends.plugins import load_backend

    return load_backend("torch-compile")


def _f32(values):
    return np.asarray(values, dtype=np.float32)


def test_torch_compile_is_a_registered_backend_with_torchs_declarations(tc):
    assert tc.name == "torch-compile"
    assert tc.version.endswith("inductor")
    assert tc.gradients == frozenset({"input", "target"})


def test_dynamo_recompile_limits_are_raised_so_no_call_falls_back_to_eager(tc):
    config = torch._dynamo.config
    limits = [
        getattr(config, n) for n in ("cache_size_limit", "recompile_limit") if hasattr(config, n)
    ]
    assert limits and min(limits) >= 100_000


def test_compiled_bce_skips_the_eager_range_check(tc):
    """Eager torch raises for an input outside [0, 1]; Inductor's kernel has no such check and
    returns NaN (y = 0 takes log(1 - 1.5), the log of a negative number): the compiled path ran."""
    out = tc.evaluate(Call("binary_cross_entropy", "float32", _f32([0.5, 1.5]), _f32([1.0, 0.0])))
    assert out.status == "ok"
    assert math.isnan(float(out.value))
    eager = torch.nn.functional.binary_cross_entropy
    with pytest.raises(RuntimeError):
        eager(torch.tensor([0.5, 1.5]), torch.tensor([1.0, 0.0]))


def test_compiled_logits_value_and_input_gradient_at_benign_points(tc):
    """At x = 0: loss log 2 and d/dx = sigmoid(0) - y = 1/2 - y (closed forms), per element."""
    x, y = _f32([0.0, 0.0]), _f32([1.0, 0.25])
    call = Call("binary_cross_entropy_with_logits", "float32", x, y, reduction="none",
                grad_wrt=("input",))  # fmt: skip
    out = tc.evaluate(call)
    assert out.status == "ok"
    np.testing.assert_allclose(out.value, [math.log(2)] * 2, rtol=2**-22)
    np.testing.assert_allclose(out.gradients["input"], [-0.5, 0.25], rtol=2**-22)
    assert out.value.dtype == np.float32 and out.gradients["input"].dtype == np.float32
