"""Optimizer steps without torch's compiler import (latentopt.torch_startup): the same updates, no import."""

import subprocess
import sys
import textwrap
import warnings

import pytest
import torch

from latentopt.torch_startup import _raw_step, eager_step, optimizer_step


def _model_and_data(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2))
    x, y = torch.randn(16, 5), torch.randn(16, 2)
    return model, x, y


def _train(optimizer_cls, kwargs, step, n=25):
    model, x, y = _model_and_data()
    opt = optimizer_cls(model.parameters(), **kwargs)
    for _ in range(n):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        step(opt)
    return model, opt


@pytest.mark.parametrize("optimizer_cls, kwargs", [
    (torch.optim.Adam, dict(lr=1e-2, foreach=True)),  # the jrVAE's
    (torch.optim.Adam, dict(lr=1e-2, betas=(0.9, 0.999))),  # the spin VAE's, the GAN's, the latent optimizers'
    (torch.optim.Adam, dict(lr=1e-2, foreach=False, amsgrad=True, weight_decay=1e-3)),
    (torch.optim.SGD, dict(lr=1e-2, momentum=0.9)),
])
def test_eager_step_is_torch_step_bit_for_bit(optimizer_cls, kwargs):
    ours, ours_opt = _train(optimizer_cls, kwargs, eager_step)
    theirs, theirs_opt = _train(optimizer_cls, kwargs, lambda opt: opt.step())
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    for key, state in theirs_opt.state_dict()["state"].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(ours_opt.state_dict()["state"][key][name]), torch.as_tensor(value))


def test_step_hooks_and_lr_schedulers_take_torchs_path():
    model, x, y = _model_and_data()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    calls = []
    opt.register_step_post_hook(lambda *args: calls.append(1))
    torch.nn.functional.mse_loss(model(x), y).backward()
    optimizer_step(opt)
    assert calls == [1]

    model, x, y = _model_and_data()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "lr_scheduler.step() before optimizer.step()" if the step were not counted
        for _ in range(3):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer_step(opt)
            scheduler.step()


def test_training_jobs_do_not_import_torch_compiler():
    """A fresh interpreter trains a jrVAE, the spin VAE and a latent code, checkpoints and
    resumes an optimizer, and never loads torch._dynamo (which costs as much as torch)."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import torch
        from latentopt.trainers.jrvae import train_jrvae
        from latentopt.trainers.vae import train_vae
        from latentopt.torch_startup import optimizer_step
        rng = np.random.default_rng(0)
        train_jrvae(rng.random((8, 12, 12)), 1.0, epochs=2, batch_size=4,
                    model={"discrete_dim": 2, "hidden": [8], "decoder": "image"})
        s = rng.normal(size=(6, 3, 16, 16))
        train_vae(s / np.linalg.norm(s, axis=1, keepdims=True), latent_dim=2, beta=1e-3, lr=1e-3, seed=0, epochs=1, batch_size=3,
                  channels=(2,), hidden=4, val_fraction=0.0, progress=False)
        p = torch.nn.Parameter(torch.zeros(3))
        opt = torch.optim.Adam([p], lr=0.1)
        opt.zero_grad()
        (p - 1).square().sum().backward()
        optimizer_step(opt)
        opt.load_state_dict(opt.state_dict())
        print("dynamo" if "torch._dynamo" in sys.modules else "no dynamo")
        from latentopt.torch_startup import restore_optimizer_methods
        restore_optimizer_methods()  # the marks come off: the next call imports the compiler as torch does
        opt.zero_grad()
        print("dynamo" if "torch._dynamo" in sys.modules else "no dynamo")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-2:] == ["no dynamo", "dynamo"], out.stderr[-2000:]


def test_only_torchs_own_wrappers_are_skipped():
    """A subclass whose step is its own (or wrapped by anyone else) takes torch's path; so does a profiled step."""
    class Logged(torch.optim.SGD):
        calls = 0

        def step(self, closure=None):
            Logged.calls += 1
            return super().step(closure)

    model, x, y = _model_and_data()
    opt = Logged(model.parameters(), lr=1e-2)
    assert _raw_step(Logged) is None and _raw_step(torch.optim.SGD) is not None
    torch.nn.functional.mse_loss(model(x), y).backward()
    optimizer_step(opt)
    assert Logged.calls == 1
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with torch.profiler.profile() as prof:
        optimizer_step(opt)
    assert any(e.name.startswith("Optimizer.step#Adam.step") for e in prof.events())
