"""Meta-learning of the NEB parameters (Bushuev & Lobanov 2020): differentiable loss, training, resume, benchmark."""

import math
import warnings

import numpy as np
import pytest
import torch

from latentopt.optimizers import meta_neb as mn
from latentopt.physics import single_spin as ss
from latentopt.physics import spheres

pytestmark = pytest.mark.usefixtures("float64_default")  # float64 tensors by default (tests/conftest.py)
E1 = ss.energy_fn()


def test_random_paths_stay_within_perturbation():
    p = mn.random_paths(50, 11, perturbation=0.05, bend=0.0, seed=0)
    mep = ss.mep(11)
    d = spheres.distance_per_spin(p, mep.expand_as(p), dim=2)
    assert float(d.max()) <= 0.05 * math.pi + 1e-12 and float(d.max()) > 0.03 * math.pi
    assert torch.equal(p[:, 0], mep[0].expand(50, 3)) and torch.equal(p[:, -1], mep[-1].expand(50, 3))
    assert torch.allclose(p.norm(dim=2), torch.ones(50, 11), atol=1e-15)
    assert torch.equal(p, mn.random_paths(50, 11, perturbation=0.05, seed=0))  # seeded
    groups = mn.path_set(30, (8, 14), seed=1)
    assert sum(len(g) for g in groups) == 30 and all(8 <= g.shape[1] <= 14 for g in groups)


def test_unrolled_loss_gradient_matches_finite_difference():
    paths = mn.random_paths(6, 9, perturbation=0.05, seed=2)
    theta = torch.tensor([0.03, 0.8, 2.5]).log().requires_grad_(True)
    p = theta.exp()
    loss = mn.unrolled_loss(E1, paths, p[0], p[1], p[2], K=3).mean()
    (g,) = torch.autograd.grad(loss, theta)
    assert torch.isfinite(g).all() and float(g[0]) < 0  # a larger step converges faster here
    h = 1e-5
    for i in range(3):
        tp, tm = theta.detach().clone(), theta.detach().clone()
        tp[i] += h
        tm[i] -= h
        with torch.no_grad():  # paper_step needs autograd for the energy gradient; enable_grad inside
            lp = mn.unrolled_loss(E1, paths, *tp.exp(), K=3).mean()
            lm = mn.unrolled_loss(E1, paths, *tm.exp(), K=3).mean()
        assert float((lp - lm) / (2 * h)) == pytest.approx(float(g[i]), rel=1e-4, abs=1e-7)


def test_meta_learning_reduces_held_out_loss():
    r = mn.meta_learn(epochs=3, steps_per_epoch=4, n_paths=8, n_test=8, images=(8, 10), K=3, lr=0.1, seed=0)
    assert r.test_loss[-1] < r.test_loss[0] - 0.1
    assert r.params["gamma"] > r.initial["gamma"]
    assert r.train_loss.shape == (12,) and r.test_loss.shape == (4,) and r.param_history.shape == (13, 3)
    js = r.as_json()
    assert set(js) >= {"gamma", "mu", "beta", "train_loss", "test_loss", "final_test_loss"}


def test_meta_learning_resume_bit_identical(tmp_path):
    kw = dict(steps_per_epoch=2, n_paths=4, n_test=4, images=(8, 9), K=2, lr=0.1, seed=3)
    full = mn.meta_learn(epochs=3, **kw)
    ck = tmp_path / "meta.pt"
    mn.meta_learn(epochs=2, checkpoint=ck, **kw)
    assert torch.load(ck, weights_only=False)["next"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checkpoint must be accepted, not ignored
        resumed = mn.meta_learn(epochs=3, checkpoint=ck, **kw)
    assert torch.load(ck, weights_only=False)["next"] == 3
    assert resumed.params == full.params
    assert np.array_equal(resumed.train_loss, full.train_loss)
    assert np.array_equal(resumed.test_loss, full.test_loss)


def test_meta_learn_rejects_bad_settings():
    with pytest.raises(ValueError, match="initial"):
        mn.meta_learn(initial=(0.0, 1.0, 3.0), epochs=1)
    with pytest.raises(ValueError, match="learn"):
        mn.meta_learn(learn=("alpha",), epochs=1)
    with pytest.raises(ValueError, match="optimizer"):
        mn.meta_learn(optimizer="sgd", epochs=1)


def test_convergence_benchmark_speedup_of_a_larger_step():
    """Held-out bent paths: gamma = 0.15 (a learned-like value) needs far fewer iterations than 0.01."""
    paths = mn.random_paths(6, 10, perturbation=0.05, bend=0.05, seed=11)
    slow = mn.convergence_benchmark((0.01, 1.0, 3.0), paths, max_iter=400, record=10)
    fast = mn.convergence_benchmark((0.15, 0.3, 3.0), paths, max_iter=400, record=10)
    assert np.isfinite(slow.iterations_to_threshold).all() and np.isfinite(fast.iterations_to_threshold).all()
    assert slow.median_iterations / fast.median_iterations >= 5
    assert slow.delta.shape == (11, 6) and slow.rate.shape == (10, 6)
    assert (slow.delta >= -1e-12).all()  # Q >= Q0 for every path (mountain pass)
    assert (fast.final_barrier_error < 1e-6).all()
    # on the exact MEP the error is zero from the start
    exact = mn.convergence_benchmark((0.01, 1.0, 3.0), ss.mep(9)[None], max_iter=5, record=2)
    assert exact.iterations_to_threshold[0] == 0
