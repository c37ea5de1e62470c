"""The kernel models reproduce the mechanisms the issue names, on hand-picked elements."""

import math

import numpy as np
from mpmath import mp

from conformance.findings import causes, kernels
from tests.findings.helpers import gathered

LOGITS, BCE = kernels.LOGITS, kernels.BCE


def test_torch_logits_loss_cancels_to_zero_for_a_negative_logit_with_target_zero():
    g = gathered(LOGITS, "value", "float32", x=-20.0, y=0.0)
    assert kernels.torch_logits_value(g) == 0
    exact = float(mp.log1p(mp.exp(-20)))
    assert math.isclose(float(causes.repaired_logits_loss("torch", g)), exact, rel_tol=1e-6)


def test_paddle_logits_gradient_at_zero_is_off_by_minus_one_without_pos_weight():
    assert kernels.paddle_logits_grad_input(gathered(LOGITS, "grad_input", "float64", 0, 0)) == -0.5


def test_paddle_logits_gradient_at_zero_is_right_with_pos_weight():
    g = gathered(LOGITS, "grad_input", "float64", 0.0, 0.0, p=1.0)
    assert kernels.paddle_logits_grad_input(g) == 0.5


def test_torch_bce_backward_floor_is_float32s_1e_minus_12():
    g = gathered(BCE, "grad_input", "float64", x=0.0, y=1.0)
    assert kernels.torch_bce_grad_input(g) == -1 / float(np.float32(1e-12))


def test_float16_flushes_epsilon_and_bfloat16_keeps_it():
    assert kernels.torch_epsilon("float16") == 0
    assert kernels.torch_epsilon("bfloat16") > 0
    g = gathered(BCE, "grad_input", "float16", x=0.0, y=1.0)
    assert kernels.torch_bce_grad_input(g) == -np.inf


def test_torch_bce_target_gradient_is_minus_logit_without_the_clamp():
    tiny = gathered(BCE, "grad_target", "float32", x=4.203895392974451e-45, y=1.0)
    assert math.isclose(float(kernels.torch_bce_grad_target(tiny)), 102.18, rel_tol=1e-4)
    assert (
        kernels.torch_bce_grad_target(gathered(BCE, "grad_target", "float32", 0.0, 1.0)) == np.inf
    )


def test_paddle_bce_loses_the_log1p_term_for_a_tiny_input():
    g = gathered(BCE, "value", "float32", x=2.0**-30, y=0.0)
    assert kernels.paddle_bce_value(g) == 0
    assert math.isclose(float(causes.repaired_paddle_bce("paddle", g)), 2.0**-30, rel_tol=1e-6)


def test_tensorflow_sums_a_full_packet_in_vector_lanes():
    """tf.reduce_sum of 8 float32 elements is one AVX2 packet: lane i holds element i and the
    lanes are added as a halving tree ((0+4) + (2+6)) + ((1+5) + (3+7)). With 1 and seven
    2**-24 (half an ulp of 1): 1 + 2**-24 ties to 1, the other pairs are 2**-23 exactly, so the
    tree gives 1 + 2**-23 + 2**-22 = 1 + 3*2**-23, where adding in order would give 1."""
    from conformance.findings.elements import Element, Gathered

    def f32(v: float):
        return np.float32(v)

    values = [1.0] + [2.0**-24] * 7
    elements = tuple(Element(f32(v), f32(0.0), None, None) for v in values)
    g = Gathered(LOGITS, "float32", "value", "sum", elements, len(elements), True)
    out = kernels.tf_reduce(g, lambda e: e.x)
    assert out == f32(1.0 + 3 * 2.0**-23)
