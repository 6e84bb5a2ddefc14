"""Optimizer steps without torch's compiler import: about 1.5 s of CPU in every training job.

``torch.optim`` imports TorchDynamo (``torch._dynamo``, with much of ``torch.distributed``
and ``torch._inductor`` behind it) the first time a job builds or steps an optimizer, only
to mark those calls for ``torch.compile``: ``Optimizer.add_param_group``, ``zero_grad``,
``state_dict`` and ``load_state_dict`` are wrapped with ``torch._disable_dynamo``, and every
``step`` with a wrapper that inserts ``torch._dynamo.graph_break()``. In eager mode both
wrappers change nothing; the import costs as much as ``import torch`` itself (1.5 s of
CPU on a 2-core laptop, ``python -c "import torch, torch._dynamo"`` against ``import
torch``), a fifth of a KL-schedule evaluation's job, and the default run has about forty
jobs that train something. latentopt compiles nothing, so:

- importing this module marks the four methods as already resolved to themselves (the
  wrapper's own cache attribute, ``__dynamo_disable``), so they run as before without
  the import (:func:`eager_optimizer_methods`);
- :func:`optimizer_step` calls the optimizer's undecorated ``step`` under
  ``torch.no_grad()`` (what the wrapper does in eager mode), bit for bit the same update
  (``tests/test_torch_startup.py``).

:func:`optimizer_step` falls back to torch's own path whenever it could matter: once
``torch._dynamo`` is loaded anyway, for differentiable optimizers, with step hooks or an LR
scheduler attached (which counts the wrapped calls), while the torch profiler records (the
wrapper names the step in its trace), or if this torch wraps ``step`` in anything but its
two known wrappers. The marks on the four methods stay for the process: a program that
imports latentopt's trainers and then compiles code calling those methods with ``torch.compile``
would have TorchDynamo trace into them instead of skipping them; :func:`restore_optimizer_methods`
takes the marks back.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch
from torch.optim import optimizer as _torch_optimizer

__all__ = ["eager_optimizer_methods", "optimizer_step", "restore_optimizer_methods"]

# Methods of torch.optim.Optimizer that torch wraps with torch._disable_dynamo.
_WRAPPED_METHODS = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")
_RAW_STEPS: dict[type, Callable | None] = {}


def _dynamo_loaded() -> bool:
    return "torch._dynamo" in sys.modules


def eager_optimizer_methods() -> bool:
    """Let ``Optimizer.add_param_group``, ``zero_grad``, ``state_dict`` and ``load_state_dict``
    run without importing ``torch._dynamo`` (module docstring).

    Returns
    -------
    bool
        Whether any method was marked: False once ``torch._dynamo`` is loaded (nothing to
        spare), when they were marked before, or when this torch does not wrap them so.
    """
    if _dynamo_loaded():
        return False
    marked = False
    for name in _WRAPPED_METHODS:
        fn = getattr(getattr(torch.optim.Optimizer, name, None), "__wrapped__", None)
        if fn is not None and getattr(fn, "__dynamo_disable", None) is None:
            setattr(fn, "__dynamo_disable", fn)
            marked = True
    return marked


def restore_optimizer_methods() -> None:
    """Take back the marks of :func:`eager_optimizer_methods` (the methods' own first call then imports TorchDynamo)."""
    for name in _WRAPPED_METHODS:
        fn = getattr(getattr(torch.optim.Optimizer, name, None), "__wrapped__", None)
        if fn is not None and getattr(fn, "__dynamo_disable", None) is fn:
            delattr(fn, "__dynamo_disable")


# torch's two wrappers of an optimizer's step, both in torch/optim/optimizer.py (functools.wraps
# copies the step's names onto them, so their code objects tell them apart): the profiling hook that
# Optimizer.__init__ puts on the class, and the grad-mode switch of @_use_grad_for_differentiable
_STEP_WRAPPERS = ("wrapper", "_use_grad")


def _is_torch_wrapper(fn: Callable, name: str) -> bool:
    code = getattr(fn, "__code__", None)
    return (code is not None and code.co_name == name and hasattr(fn, "__wrapped__")
            and code.co_filename == _torch_optimizer.__file__)


def _raw_step(cls: type) -> Callable | None:
    """The optimizer class's own ``step`` under exactly torch's two wrappers, or None if it is wrapped otherwise
    (or not yet: ``Optimizer.__init__`` adds the profiling wrapper to the class)."""
    if cls not in _RAW_STEPS:
        fn = cls.step
        for name in _STEP_WRAPPERS:
            if not _is_torch_wrapper(fn, name):
                return None  # not cached: the class may get its profiling wrapper later
            fn = fn.__wrapped__
        if hasattr(fn, "__wrapped__"):
            return None
        _RAW_STEPS[cls] = fn
    return _RAW_STEPS[cls]


def _torch_path_needed(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer.step()`` does more than the undecorated step under ``no_grad``."""
    hooks = (optimizer._optimizer_step_pre_hooks, optimizer._optimizer_step_post_hooks,
             getattr(_torch_optimizer, "_global_optimizer_pre_hooks", None),
             getattr(_torch_optimizer, "_global_optimizer_post_hooks", None))
    return (_dynamo_loaded() or bool(optimizer.defaults.get("differentiable", False))
            or hasattr(optimizer.step, "_wrapped_by_lr_sched") or any(h for h in hooks)
            or torch.autograd.profiler._is_profiler_enabled or _raw_step(type(optimizer)) is None)


def eager_step(optimizer: torch.optim.Optimizer) -> None:
    """The undecorated ``step`` of ``optimizer`` under ``torch.no_grad()`` (no fallback)."""
    with torch.no_grad():
        _raw_step(type(optimizer))(optimizer)


def optimizer_step(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()`` without a closure, without importing ``torch._dynamo`` where it can.

    The same update, bit for bit: with no hooks, no LR scheduler and no profiler, torch's
    step wrappers only switch gradients off around the optimizer's own ``step`` and mark
    graph breaks for ``torch.compile``.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Any torch optimizer; gradients already computed.
    """
    if _torch_path_needed(optimizer):
        optimizer.step()
    else:
        eager_step(optimizer)


eager_optimizer_methods()
