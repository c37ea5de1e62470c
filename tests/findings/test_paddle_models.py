"""The paddle kernel models against paddle itself (paddle 3.3.1, CPU): the recorded output is
paddle's, and the test checks that a cause reproduces it bit for bit and the control refuses it.
Nothing here is an expected value of the oracle."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.cases import Case
from conformance.findings import attribute
from conformance.findings.causes import UNEXPLAINED
from tests.findings.test_torch_models import _class

paddle = pytest.importorskip("paddle")
LOGITS = "binary_cross_entropy_with_logits"


@pytest.mark.parametrize("target", [-100.0, -100.5, -100.99])
def test_a_target_truncating_to_minus_100_is_skipped_by_the_ignore_index(target):
    x, y = np.array([0.3]), np.array([target])
    xt = paddle.to_tensor(x, stop_gradient=False)
    loss = paddle.nn.functional.binary_cross_entropy_with_logits(
        xt, paddle.to_tensor(y), reduction="none"
    )
    loss.sum().backward()
    case = Case(LOGITS, "float64", x, y, reduction="none")
    for quantity, got in (("value", loss.numpy()[0]), ("grad_input", xt.grad.numpy()[0])):
        cls = _class(case, quantity, repr(float(got)), [0])
        assert attribute("paddle", cls).cause_id == "paddle-ignore-index"
        assert attribute("paddle", cls, control=True).cause_id == UNEXPLAINED


def test_a_target_of_minus_99_5_is_not_ignored():
    x, y = np.array([0.3]), np.array([-99.5])
    loss = paddle.nn.functional.binary_cross_entropy_with_logits(
        paddle.to_tensor(x), paddle.to_tensor(y), reduction="none"
    )
    assert float(loss.numpy()[0]) != 0.0
    case = Case(LOGITS, "float64", x, y, reduction="none")
    cls = _class(case, "value", repr(float(loss.numpy()[0])), [0])
    assert attribute("paddle", cls).cause_id != "paddle-ignore-index"
