"""Loading backends by name or path, and wrapping minimal function plugins (FunctionBackend)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from conformance.backends.plugins import (
    ENTRY_POINT_GROUP,
    BackendSetupError,
    FunctionBackend,
    known_backend_names,
    load_backend,
)
from conformance.backends.protocol import Backend, Call

TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def fixtures_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS_DIR))


def bce_call(dtype="float32", **kw):
    np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    x = np.array([0.2, 0.7, 0.9], dtype=np_dtype)
    y = np.array([0.0, 1.0, 1.0], dtype=np_dtype)
    return Call("binary_cross_entropy", dtype, x, y, **kw)


def expected_bce(x, y):
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    return float(np.mean(-(y * np.log(x) + (1 - y) * np.log1p(-x))))


# -- load_backend -------------------------------------------------------------------------------


def test_module_attr_exposing_the_two_functions_is_loaded_as_a_function_backend():
    backend = load_backend("plugins_fixtures.toy_backends:minimal")
    assert isinstance(backend, FunctionBackend)
    assert isinstance(backend, Backend)
    call = bce_call()
    out = backend.evaluate(call)
    assert out.status == "ok"
    assert out.value == pytest.approx(expected_bce(call.input, call.target), rel=1e-6)


def test_plugin_defaults_name_from_spec_unknown_version_all_dtypes_functional_only():
    backend = load_backend("plugins_fixtures.toy_backends:minimal")
    assert backend.name == "plugins_fixtures.toy_backends:minimal"
    assert backend.version == "unknown"
    assert backend.dtypes == frozenset({"float64", "float32", "float16", "bfloat16"})
    assert backend.api_forms == frozenset({"functional"})
    assert backend.gradients == frozenset()
    assert backend.legacy_arguments is False


def test_plugin_module_created_in_tmp_path_is_picked_up(tmp_path, monkeypatch):
    (tmp_path / "tmp_bce_plugin.py").write_text(
        textwrap.dedent(
            """
            import sys
            import numpy as np

            version = "9.9"

            def binary_cross_entropy(input, target, weight=None, reduction="mean"):
                return np.asarray(7.0, dtype=input.dtype)

            plugin = sys.modules[__name__]  # the module itself is the plugin
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    backend = load_backend("tmp_bce_plugin:plugin")
    assert backend.version == "9.9"
    out = backend.evaluate(bce_call())
    assert out.status == "ok" and out.value == 7.0


def test_full_backend_instance_is_returned_unchanged():
    from plugins_fixtures import toy_backends

    assert load_backend("plugins_fixtures.toy_backends:full_instance") is toy_backends.full_instance


def test_backend_class_is_instantiated():
    backend = load_backend("plugins_fixtures.toy_backends:FullBackend")
    assert type(backend).__name__ == "FullBackend"
    assert backend.evaluate(bce_call()).value == 42.0


def test_factory_function_is_called():
    backend = load_backend("plugins_fixtures.toy_backends:make_full")
    assert backend.name == "full"


def test_unknown_backend_name_raises_setup_error_listing_known_names():
    with pytest.raises(BackendSetupError) as info:
        load_backend("no-such-backend")
    message = str(info.value)
    assert "no-such-backend" in message
    for name in ("numpy", "torch", "torch-cuda", "paddle", "paddle-gpu"):
        assert name in message
    assert "\n" not in message


def test_unimportable_module_raises_setup_error():
    with pytest.raises(BackendSetupError, match="cannot import module 'no_such_pkg_xyz.mod'"):
        load_backend("no_such_pkg_xyz.mod:thing")


def test_missing_attribute_raises_setup_error():
    with pytest.raises(BackendSetupError, match="has no attribute 'not_there'"):
        load_backend("plugins_fixtures.toy_backends:not_there")


def test_object_without_functions_or_evaluate_raises_setup_error():
    with pytest.raises(BackendSetupError, match="neither a Backend"):
        load_backend("plugins_fixtures.toy_backends:nothing")


def test_failing_factory_raises_setup_error_with_its_message():
    with pytest.raises(BackendSetupError, match="no licence"):
        load_backend("plugins_fixtures.toy_backends:broken_factory")


def test_spec_with_empty_attr_raises_setup_error():
    with pytest.raises(BackendSetupError, match="package.module:attr"):
        load_backend("plugins_fixtures.toy_backends:")


def test_unavailable_framework_raises_setup_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes "import torch" fail
    monkeypatch.delitem(sys.modules, "conformance.backends.torch_backend", raising=False)
    with pytest.raises(BackendSetupError, match="needs torch"):
        load_backend("torch")


def test_entry_point_registered_by_an_installed_distribution_is_found(tmp_path, monkeypatch):
    dist = tmp_path / "toy_bce_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-bce-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ntoy-ep = plugins_fixtures.toy_backends:minimal\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "toy-ep" in known_backend_names()
    backend = load_backend("toy-ep")
    assert backend.name == "toy-ep"
    assert backend.evaluate(bce_call()).status == "ok"


def test_numpy_name_loads_the_numpy_kernel_backend():
    pytest.importorskip("conformance.backends.numpy_kernel")
    backend = load_backend("numpy")
    assert type(backend).__name__ == "NumpyKernelBackend"


# -- FunctionBackend ----------------------------------------------------------------------------


def test_missing_function_makes_its_calls_unsupported():
    backend = load_backend("plugins_fixtures.toy_backends:logits_only")
    out = backend.evaluate(bce_call())
    assert out.status == "unsupported"
    assert "binary_cross_entropy" in out.error


def test_non_array_result_is_crashed_with_a_clear_message():
    backend = load_backend("plugins_fixtures.toy_backends:garbage")
    out = backend.evaluate(bce_call())
    assert out.status == "crashed"
    assert "str" in out.error and "not an array" in out.error


def test_python_number_result_becomes_an_array_of_the_call_dtype():
    backend = load_backend("plugins_fixtures.toy_backends:python_float")
    out = backend.evaluate(bce_call("bfloat16"))
    assert out.status == "ok"
    assert out.value.dtype == np.dtype(ml_dtypes.bfloat16)
    assert out.value.shape == ()


def test_result_of_wrong_dtype_and_shape_is_returned_as_is():
    backend = load_backend("plugins_fixtures.toy_backends:wrong_dtype")
    out = backend.evaluate(bce_call("float64"))
    assert out.status == "ok"
    assert out.value.dtype == np.int32
    assert out.value.shape == (3,)


def test_exception_from_plugin_function_is_raised_outcome():
    backend = load_backend("plugins_fixtures.toy_backends:minimal")
    x = np.array([0.5, 0.5], np.float32)
    out = backend.evaluate(Call("binary_cross_entropy", "float32", x, x[:1]))
    assert out.status == "raised"
    assert out.error.startswith("ValueError: shape mismatch")


def test_undeclared_dtype_api_form_legacy_and_gradient_are_unsupported():
    backend = load_backend("plugins_fixtures.toy_backends:described")
    assert backend.evaluate(bce_call("float16")).status == "unsupported"
    minimal = load_backend("plugins_fixtures.toy_backends:minimal")
    assert minimal.evaluate(bce_call(api="module")).status == "unsupported"
    assert minimal.evaluate(bce_call(legacy=(False, None))).status == "unsupported"
    assert minimal.evaluate(bce_call(grad_wrt=("input",))).status == "unsupported"


def test_declared_metadata_is_used():
    backend = load_backend("plugins_fixtures.toy_backends:described")
    assert (backend.name, backend.version, backend.device) == ("described", "1.2.3", "toy")
    assert backend.api_forms == frozenset({"functional", "module"})
    assert backend.legacy_arguments is True


def test_legacy_arguments_are_passed_as_keywords_when_declared():
    from plugins_fixtures import toy_backends

    backend = load_backend("plugins_fixtures.toy_backends:described")
    toy_backends.described.legacy_seen.clear()
    out = backend.evaluate(bce_call(legacy=(False, None)))
    assert toy_backends.described.legacy_seen == [(False, None)]
    call = bce_call()
    assert out.value == pytest.approx(3 * expected_bce(call.input, call.target), rel=1e-6)


def test_gradient_hook_receives_grad_output_and_its_result_is_returned():
    backend = load_backend("plugins_fixtures.toy_backends:described")
    go = np.asarray(2.0, np.float64)
    out = backend.evaluate(bce_call("float64", grad_wrt=("input",), grad_output=go))
    assert out.status == "ok"
    x, y = np.array([0.2, 0.7, 0.9]), np.array([0.0, 1.0, 1.0])
    np.testing.assert_allclose(out.gradients["input"], 2 * (x - y) / (x * (1 - x)) / 3)


def test_gradient_declared_without_hook_is_a_setup_error():
    class NoHook:
        gradients = frozenset({"input"})

        def binary_cross_entropy(self, input, target, weight=None, reduction="mean"):
            return 0.0

    with pytest.raises(TypeError, match="no gradient"):
        FunctionBackend(NoHook())


def test_a_plain_module_exposing_the_two_functions_is_a_backend():
    backend = load_backend("tests.plugins_fixtures.minimal_module")
    assert backend.name == "tests.plugins_fixtures.minimal_module"
