"""Finding backends by name, and wrapping minimal plugins into full ones.

``load_backend(spec)`` accepts

* a registered name: ``numpy``, ``torch``, ``torch-cuda``, ``torch-compile``, ``jax``,
  ``tensorflow``, ``onnxruntime``, ``paddle``, ``paddle-gpu``;
* ``"package.module:attr"`` (``attr`` may be dotted): a full Backend instance, a class or factory
  returning one (called with no arguments), or a *minimal plugin* (below);
* a name that an installed distribution registers in the entry-point group
  ``bce_conformance.backends`` (the entry point resolves like ``attr`` above).

Anything that goes wrong while loading raises ``BackendSetupError`` with a one-line message.

Minimal plugins
---------------
Any object (a module will do) exposing one or both of ::

    binary_cross_entropy(input, target, weight=None, reduction="mean")
    binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean")

on NumPy arrays (bfloat16 arrays are ``ml_dtypes.bfloat16``). ``FunctionBackend`` wraps it.
Optional attributes of the object, with their defaults:

* ``name`` (the module name, or the spec it was loaded by), ``version`` (``"unknown"``),
  ``device`` (``"cpu"``);
* ``dtypes`` (all four), ``api_forms`` (``{"functional"}``; the same functions serve every form
  declared);
* ``legacy_arguments`` (False). When True, legacy calls pass ``size_average=`` and ``reduce=``
  keywords to the function as well as ``reduction=``;
* ``gradients`` (none): the argument names (of ``input``, ``target``, ``weight``, ``pos_weight``)
  that the object's gradient hook can differentiate with respect to. Declaring any requires ::

      gradient(function, wrt, input, target, weight=None, pos_weight=None,
               reduction="mean", grad_output=None)

  where ``function`` is one of the two function names, ``wrt`` a tuple of argument names and
  ``grad_output`` the upstream gradient (always given: ones shaped like the value when the call
  has none). It returns a mapping ``{name: array}`` or a sequence of arrays in ``wrt`` order.
  Legacy keywords are passed to the hook as to the functions.

A missing function makes that function's calls *unsupported*. An exception from a function or
the hook is the plugin rejecting the call (``raised``). The result goes through ``np.asarray``;
a Python number or list becomes an array of the call's dtype, an array keeps whatever dtype and
shape it has (the comparison judges it), and anything not numeric (None, strings, objects) makes
the Outcome ``crashed``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any

import ml_dtypes
import numpy as np

from conformance.backends.protocol import (
    API_FORMS,
    DTYPES,
    FUNCTIONS,
    GRADIENT_ARGUMENTS,
    LAYOUTS,
    Backend,
    Call,
    Outcome,
    check_supported,
    unsupported,
    with_layout,
)

ENTRY_POINT_GROUP = "bce_conformance.backends"

_NUMPY_DTYPES = {
    "float64": np.dtype(np.float64),
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}
_BACKEND_ATTRIBUTES = (
    "name",
    "version",
    "device",
    "dtypes",
    "api_forms",
    "gradients",
    "legacy_arguments",
)


class BackendSetupError(Exception):
    """A backend could not be loaded or built; the message is one line, fit for the user."""


# -- minimal plugins ----------------------------------------------------------------------------


def _numeric_result(result: Any, dtype: str, what: str) -> np.ndarray | str:
    """``result`` as an array, or the reason it is not a numeric array."""
    if result is None or isinstance(result, (str, bytes, Mapping)):
        return f"{what} is {type(result).__name__}, not an array"
    # Arrays (and anything exporting __array__) keep their own dtype; bare numbers and lists
    # take the call's.
    own_dtype = isinstance(result, (np.ndarray, np.generic)) or hasattr(result, "__array__")
    try:
        arr = np.asarray(result) if own_dtype else np.asarray(result, dtype=_NUMPY_DTYPES[dtype])
    except Exception as exc:  # ragged lists, objects refusing conversion, ...
        return f"{what} ({type(result).__name__}) does not convert to an array: {exc}"
    if arr.dtype.kind in "fcbiu" or arr.dtype.name in _NUMPY_DTYPES:
        return arr
    return f"{what} is an array of non-numeric dtype {arr.dtype} ({type(result).__name__})"


class FunctionBackend:
    """A full Backend around a minimal plugin (see the module docstring)."""

    def __init__(self, obj: Any, name: str | None = None) -> None:
        self.obj = obj
        self.functions: dict[str, Callable[..., Any]] = {
            f: getattr(obj, f) for f in FUNCTIONS if callable(getattr(obj, f, None))
        }
        if not self.functions:
            raise TypeError(f"{_describe(obj)} exposes neither {' nor '.join(FUNCTIONS)}")
        default_name = name or (
            obj.__name__ if isinstance(obj, types.ModuleType) else type(obj).__qualname__
        )
        self.name = str(getattr(obj, "name", None) or default_name)
        self.version = str(getattr(obj, "version", "unknown"))
        self.device = str(getattr(obj, "device", "cpu"))
        self.dtypes = frozenset(getattr(obj, "dtypes", DTYPES))
        self.api_forms = frozenset(getattr(obj, "api_forms", ("functional",)))
        self.layouts = frozenset(getattr(obj, "layouts", LAYOUTS))
        self.legacy_arguments = bool(getattr(obj, "legacy_arguments", False))
        self.gradients = frozenset(getattr(obj, "gradients", ()))
        self._gradient = getattr(obj, "gradient", None)
        for attr, values, allowed in (
            ("dtypes", self.dtypes, DTYPES),
            ("api_forms", self.api_forms, API_FORMS),
            ("gradients", self.gradients, GRADIENT_ARGUMENTS),
        ):
            unknown = sorted(map(str, values - set(allowed)))
            if unknown:
                raise TypeError(
                    f"{self.name}.{attr} has unknown entries {unknown}; allowed: {list(allowed)}"
                )
        if self.gradients and not callable(self._gradient):
            raise TypeError(f"{self.name} declares gradients but has no gradient() hook")

    def __repr__(self) -> str:
        return f"FunctionBackend({self.name!r})"

    def evaluate(self, call: Call) -> Outcome:
        fn = self.functions.get(call.function)
        if fn is None:  # said first: the most useful reason for a plugin lacking a function
            return unsupported(f"{self.name} has no {call.function}")
        refusal = check_supported(self, call)
        if refusal is not None:
            return refusal
        call = with_layout(call)
        kwargs: dict[str, Any] = {"reduction": call.reduction}
        if call.weight is not None:
            kwargs["weight"] = call.weight
        if call.pos_weight is not None:
            kwargs["pos_weight"] = call.pos_weight
        if call.legacy is not None:
            kwargs["size_average"], kwargs["reduce"] = call.legacy
        try:
            result = fn(call.input, call.target, **kwargs)
        except Exception as exc:
            return Outcome(status="raised", error=f"{type(exc).__name__}: {exc}")
        value = _numeric_result(result, call.dtype, f"the result of {self.name}.{call.function}")
        if isinstance(value, str):
            return Outcome(status="crashed", error=value)

        gradients: dict[str, np.ndarray] = {}
        if call.grad_wrt:
            grad_output = call.grad_output
            if grad_output is None:
                grad_output = np.ones(value.shape, dtype=_NUMPY_DTYPES[call.dtype])
            hook_kwargs = {k: v for k, v in kwargs.items() if k not in ("weight", "pos_weight")}
            try:
                grads = self._gradient(
                    call.function,
                    tuple(call.grad_wrt),
                    call.input,
                    call.target,
                    weight=call.weight,
                    pos_weight=call.pos_weight,
                    grad_output=grad_output,
                    **hook_kwargs,
                )
            except Exception as exc:
                return Outcome(status="raised", error=f"{type(exc).__name__}: {exc}")
            if isinstance(grads, Mapping):
                missing = [w for w in call.grad_wrt if w not in grads]
                if missing:
                    return Outcome(
                        status="crashed",
                        error=f"{self.name}.gradient returned no entry for {', '.join(missing)}",
                    )
                items = [(w, grads[w]) for w in call.grad_wrt]
            elif isinstance(grads, (list, tuple)) and len(grads) == len(call.grad_wrt):
                items = list(zip(call.grad_wrt, grads))
            else:
                return Outcome(
                    status="crashed",
                    error=f"{self.name}.gradient returned {type(grads).__name__}, not a mapping "
                    f"or a sequence of {len(call.grad_wrt)} arrays",
                )
            for w, g in items:
                arr = _numeric_result(g, call.dtype, f"the gradient with respect to {w}")
                if isinstance(arr, str):
                    return Outcome(status="crashed", error=arr)
                gradients[w] = arr
        return Outcome(status="ok", value=value, gradients=gradients)


# -- loading ------------------------------------------------------------------------------------


def _numpy() -> Backend:
    from conformance.backends.numpy_kernel import NumpyKernelBackend

    return NumpyKernelBackend()


def _torch(device: str) -> Callable[[], Backend]:
    def build() -> Backend:
        from conformance.backends.torch_backend import TorchBackend

        return TorchBackend(device)

    return build


def _torch_compile() -> Backend:
    from conformance.backends.torch_compile_backend import TorchCompileBackend

    return TorchCompileBackend("cpu")


def _jax() -> Backend:
    from conformance.backends.jax_backend import JaxBackend

    return JaxBackend()


def _tensorflow() -> Backend:
    from conformance.backends.tensorflow_backend import TensorFlowBackend

    return TensorFlowBackend()


def _onnxruntime() -> Backend:
    from conformance.backends.onnxruntime_backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend()


def _paddle(device: str) -> Callable[[], Backend]:
    def build() -> Backend:
        from conformance.backends.paddle_backend import PaddleBackend

        return PaddleBackend(device)

    return build


REGISTERED: dict[str, Callable[[], Backend]] = {
    "numpy": _numpy,
    "torch": _torch("cpu"),
    "torch-cuda": _torch("cuda"),
    "torch-compile": _torch_compile,
    "jax": _jax,
    "tensorflow": _tensorflow,
    "onnxruntime": _onnxruntime,
    "paddle": _paddle("cpu"),
    "paddle-gpu": _paddle("gpu"),
}
_FRAMEWORK = {
    "numpy": "numpy",
    "torch": "torch",
    "torch-cuda": "torch",
    "torch-compile": "torch",
    "jax": "jax",
    "tensorflow": "tensorflow",
    "onnxruntime": "onnxruntime",
    "paddle": "paddle",
    "paddle-gpu": "paddle",
}


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    try:
        found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception:  # a broken distribution on the path must not break the built-ins
        return {}
    return {ep.name: ep for ep in found}


def known_backend_names() -> list[str]:
    """Registered names, then entry-point names, in order."""
    plugins = sorted(n for n in _entry_points() if n not in REGISTERED)
    return [*REGISTERED, *plugins]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _describe(obj: Any) -> str:
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    if inspect.isclass(obj):
        return f"class {obj.__module__}.{obj.__qualname__}"
    return f"{type(obj).__name__} object"


def _is_backend(obj: Any) -> bool:
    return (
        not inspect.isclass(obj)
        and callable(getattr(obj, "evaluate", None))
        and all(hasattr(obj, a) for a in _BACKEND_ATTRIBUTES)
    )


def _has_functions(obj: Any) -> bool:
    return any(callable(getattr(obj, f, None)) for f in FUNCTIONS)


def resolve_backend(obj: Any, label: str) -> Backend:
    """Turn what a spec points at into a Backend (see the module docstring)."""
    for _ in range(2):  # the object itself, or what its class/factory returns
        if _is_backend(obj):
            return obj
        if not inspect.isclass(obj) and _has_functions(obj):
            try:
                return FunctionBackend(obj, name=label)
            except TypeError as exc:
                raise BackendSetupError(f"backend {label!r}: {exc}") from None
        if callable(obj) and not isinstance(obj, types.ModuleType):
            try:
                obj = obj()
            except Exception as exc:
                raise BackendSetupError(
                    f"backend {label!r}: building it failed with {_one_line(exc)}"
                ) from None
            continue
        break
    if callable(getattr(obj, "evaluate", None)):
        absent = [a for a in _BACKEND_ATTRIBUTES if not hasattr(obj, a)]
        raise BackendSetupError(
            f"backend {label!r}: {_describe(obj)} has evaluate() but lacks {', '.join(absent)}"
        )
    raise BackendSetupError(
        f"backend {label!r}: {_describe(obj)} is neither a Backend, a factory of one, nor an "
        f"object with {' or '.join(FUNCTIONS)}"
    )


def _load_path(spec: str) -> Backend:
    module_name, _, attr_path = spec.partition(":")
    if not module_name or not attr_path:
        raise BackendSetupError(
            f"backend {spec!r}: expected 'package.module:attr' with both parts non-empty"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise BackendSetupError(
            f"backend {spec!r}: cannot import module {module_name!r} ({_one_line(exc)})"
        ) from None
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise BackendSetupError(
                f"backend {spec!r}: {_describe(obj)} has no attribute {part!r}"
            ) from None
    return resolve_backend(obj, spec)


def load_backend(spec: str) -> Backend:
    """The Backend that ``spec`` names; ``BackendSetupError`` with a one-line message otherwise."""
    if not isinstance(spec, str) or not spec.strip():
        raise BackendSetupError(
            f"empty backend name; known backends: {', '.join(known_backend_names())}"
        )
    spec = spec.strip()
    if spec in REGISTERED:
        try:
            return REGISTERED[spec]()
        except ImportError as exc:
            framework = _FRAMEWORK[spec]
            if (getattr(exc, "name", None) or "").split(".")[0] == framework:
                raise BackendSetupError(
                    f"backend {spec!r} needs {framework}, which cannot be imported "
                    f"({_one_line(exc)})"
                ) from None
            raise BackendSetupError(
                f"backend {spec!r} cannot be loaded ({_one_line(exc)})"
            ) from None
        except Exception as exc:
            raise BackendSetupError(
                f"backend {spec!r} is not available: {_one_line(exc)}"
            ) from None
    if ":" in spec:
        return _load_path(spec)
    entry_point = _entry_points().get(spec)
    if entry_point is not None:
        try:
            obj = entry_point.load()
        except Exception as exc:
            raise BackendSetupError(
                f"backend {spec!r}: entry point {entry_point.value!r} does not load "
                f"({_one_line(exc)})"
            ) from None
        return resolve_backend(obj, spec)
    if all(part.isidentifier() for part in spec.split(".")):
        # A plain module (``mybce`` or ``pkg.mybce``) that exposes the two functions itself.
        try:
            module = importlib.import_module(spec)
        except ModuleNotFoundError as exc:
            if exc.name is None or not spec.startswith(exc.name):
                raise BackendSetupError(
                    f"backend {spec!r}: importing it failed ({_one_line(exc)})"
                ) from None
        except Exception as exc:
            raise BackendSetupError(
                f"backend {spec!r}: importing it failed ({_one_line(exc)})"
            ) from None
        else:
            return resolve_backend(module, spec)
    raise BackendSetupError(
        f"unknown backend {spec!r}; known backends: {', '.join(known_backend_names())} "
        "(or give a module, or 'package.module:attr')"
    )
