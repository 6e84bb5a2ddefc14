"""Trajectory families, feasibility, latent grid and the trajectory VAE."""

import math

import numpy as np
import pytest
import torch

from latentopt.models.trajectory_vae import TrajectoryVAE, trajectory_vae_loss
from latentopt.models.vae import load_model, save_model
from latentopt.trainers.trajectory_vae import decode_trajectories, encode_trajectories, train_trajectory_vae
from latentopt.families import (FAMILIES, Family, family_ranges, register_family, sample_family,
                                sample_training_set, time_axis)
from latentopt.latent import feasible, latent_grid


def test_damped_sine_family_formula_and_ranges():
    x, p = sample_family("damped_sine", 50, 900, seed=1)
    t = time_axis(900)
    assert x.shape == (50, 900) and p.shape == (50, 4)
    A, alpha, omega, B = p.T
    assert np.allclose(x, A[:, None] * np.exp(alpha[:, None] * t) * np.sin(omega[:, None] * t) + B[:, None])
    lo, hi = family_ranges("damped_sine").T
    assert np.allclose(lo, [0, -2.75, 2 * math.pi, -0.5]) and np.allclose(hi, [0.75, 2.75, 8 * math.pi / 3, 0.5])
    assert np.all((p >= lo) & (p <= hi))
    assert x[:, 0] == pytest.approx(B)  # sin(0) = 0
    again, _ = sample_family("damped_sine", 50, 900, seed=1)
    assert np.array_equal(x, again)


def test_family_registry_and_range_overrides():
    with pytest.raises(ValueError, match="already registered"):
        register_family(FAMILIES["damped_sine"])
    with pytest.raises(KeyError, match="unknown trajectory family"):
        family_ranges("nope")
    with pytest.raises(ValueError, match="unknown parameters"):
        family_ranges("damped_sine", {"C": [0, 1]})
    _, p = sample_family("damped_sine", 20, 10, seed=0, ranges={"B": [0.2, 0.2]})
    assert np.allclose(p[:, 3], 0.2)
    name = "test_linear"
    if name not in FAMILIES:
        register_family(Family(name, ("a",), {"a": (1.0, 2.0)}, lambda t, q, rng: q[:, :1] * t, "a t"))
    data = sample_training_set({"damped_sine": {"weight": 3}, name: {}}, 101, 20, seed=5)
    assert data["trajectories"].shape == (101, 20) and data["params"].shape == (101, 4)
    counts = np.bincount(data["family"])
    assert counts.tolist() == [76, 25]
    lin = data["family"] == 1
    assert np.isnan(data["params"][lin, 1:]).all()
    assert np.allclose(data["trajectories"][lin], data["params"][lin, :1] * time_axis(20))


def test_feasibility_mask():
    x = np.array([[0.0, 1.0, 2.0], [0.0, 5.0, 0.0], [-3.0, 0.0, 0.0], [0.0, np.nan, 0.0]])
    assert feasible(x).tolist() == [True, True, True, False]
    assert feasible(x, minimum=-2.0, maximum=4.0).tolist() == [True, False, False, False]
    assert feasible(x, max_step=3.0).tolist() == [True, False, True, False]


def test_latent_grid_spans_codes_in_row_major_order():
    z = np.array([[-1.0, 0.0], [1.0, 4.0], [0.0, 2.0]])
    grid, axes = latent_grid(z, 5)
    assert grid.shape == (25, 2) and axes.shape == (2, 5)
    assert np.allclose(axes[0], np.linspace(-1, 1, 5)) and np.allclose(axes[1], np.linspace(0, 4, 5))
    image = grid[:, 0].reshape(5, 5)
    assert np.allclose(image[0], axes[0]) and np.allclose(grid[:, 1].reshape(5, 5)[:, 0], axes[1])
    wide, axes_w = latent_grid(z, 3, margin=0.5)
    assert np.allclose(axes_w[0][[0, -1]], [-2, 2])


def test_trajectory_vae_loss_closed_form():
    model = TrajectoryVAE(T=3, latent_dim=2, hidden=(4,), sigma=0.5, offset=1.0, scale=2.0)
    x = torch.tensor([[1.0, 3.0, -1.0]])
    mu, logvar = model.encode(x)
    loss, rec, kl = trajectory_vae_loss(model, x, sample=False, beta=0.7)
    x_std = (x - 1.0) / 2.0
    out = model.decode_standardized(mu)
    assert rec.item() == pytest.approx(((x_std - out) ** 2).sum().item() / (2 * 0.25), rel=1e-6)
    assert kl.item() == pytest.approx(0.5 * (logvar.exp() + mu ** 2 - logvar - 1).sum().item(), rel=1e-6)
    assert loss.item() == pytest.approx(rec.item() + 0.7 * kl.item(), rel=1e-6)
    assert torch.allclose(model.decode(mu), out * 2.0 + 1.0)


def test_trajectory_vae_learns_and_resumes_exactly(tmp_path):
    data = sample_training_set({"damped_sine": {}}, 300, 60, seed=2)["trajectories"]
    kw = dict(latent_dim=2, hidden=(32, 16), epochs=10, batch_size=32, lr=3e-3, seed=3, progress=False)
    model, hist = train_trajectory_vae(data, **kw)
    assert hist["val_loss"][-1] < 0.5 * hist["val_loss"][0]
    ckpt = tmp_path / "ckpt.pt"
    train_trajectory_vae(data, checkpoint=ckpt, **{**kw, "epochs": 4})
    resumed, hist2 = train_trajectory_vae(data, checkpoint=ckpt, **kw)
    for a, b in zip(model.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert hist["loss"] == hist2["loss"]
    z = encode_trajectories(model, data[:10])
    assert z.shape == (10, 2)
    x = decode_trajectories(model, z)
    assert x.shape == (10, 60) and np.sqrt(np.mean((x - data[:10]) ** 2)) < data.std()
    save_model(tmp_path / "m.pt", model)
    loaded = load_model(tmp_path / "m.pt", cls=TrajectoryVAE)
    assert np.allclose(decode_trajectories(loaded, z), x)
    with pytest.raises(ValueError, match="trajectories"):
        train_trajectory_vae(np.zeros((1, 5)), **kw)
