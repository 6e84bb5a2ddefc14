"""Tests of the spin VAE (latentopt.models.vae) and its training loop (latentopt.trainers.vae)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from latentopt.io import read_attrs, read_h5
from latentopt.models.vae import SpinVAE, init_posterior_logvar, load_model, save_model, vae_loss
from latentopt.trainers.vae import (HISTORY_KEYS, decode, encode_mean, split_indices, train_vae,
                                    write_history)

# A tiny architecture keeps the training tests fast.
SMALL = dict(channels=(4, 8, 8, 8), hidden=32)
TRAIN = dict(latent_dim=4, beta=0.1, batch_size=16, lr=3e-3, val_fraction=0.25, seed=7,
             progress=False, **SMALL)


def random_unit_spins(n: int, L: int, seed: int = 0) -> np.ndarray:
    """Uncorrelated random unit vectors, shape (n, 3, L, L), float32."""
    v = np.random.default_rng(seed).normal(size=(n, 3, L, L))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def smooth_spins(n: int, L: int = 16, seed: int = 0) -> np.ndarray:
    """Uniform states (random direction) and periodic helices (random axis and phase)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, 3, L, L), np.float32)
    x = np.arange(L)[:, None] * np.ones((1, L))
    for i in range(n):
        if i % 2:
            d = rng.normal(size=3)
            out[i] = (d / np.linalg.norm(d))[:, None, None]
        else:
            coord = x if rng.random() < 0.5 else x.T
            phase = 2 * np.pi * coord / L * rng.choice([1, 2]) + rng.uniform(0, 2 * np.pi)
            out[i] = np.stack([np.cos(phase), np.zeros_like(phase), np.sin(phase)])
    return out


@pytest.fixture(scope="module")
def spins() -> np.ndarray:
    return smooth_spins(64)


def state_dicts_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --- model ---------------------------------------------------------------------------

@pytest.mark.parametrize("L", [16, 32])
def test_shapes_and_unit_output(L):
    torch.manual_seed(0)
    model = SpinVAE(L, latent_dim=8)
    x = torch.from_numpy(random_unit_spins(4, L))
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (4, 8)
    assert model.decode(mu).shape == (4, 3, L, L)
    for sample in (True, False):
        x_out, mu, logvar = model(x, sample=sample)
        assert x_out.shape == (4, 3, L, L) and mu.shape == logvar.shape == (4, 8)
        torch.testing.assert_close(x_out.norm(dim=1), torch.ones(4, L, L), atol=1e-5, rtol=0)
    assert model.hparams == dict(L=L, latent_dim=8, channels=(16, 32, 64, 128), hidden=512,
                                 negative_slope=0.01)


def test_lattice_size_must_be_multiple_of_16():
    with pytest.raises(ValueError, match="L"):
        SpinVAE(40, latent_dim=8)


def test_wrong_input_shape_raises():
    model = SpinVAE(16, latent_dim=2, **SMALL)
    with pytest.raises(ValueError, match="x"):
        model.encode(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="z"):
        model.decode(torch.zeros(2, 3))


def test_vae_loss_by_hand():
    x = torch.zeros(2, 3, 2, 2)
    mu0, logvar0 = torch.zeros(2, 5), torch.zeros(2, 5)
    loss, rc, kl = vae_loss(x, x, mu0, logvar0, beta=1.0)
    assert loss.item() == rc.item() == kl.item() == 0.0

    # RC: 12 entries of 0.5^2 per sample = 3. KL: 0.5 * [(1 + 1 - 0 - 1) + (2 + 0 - ln 2 - 1)].
    x_out = torch.full_like(x, 0.5)
    mu = torch.tensor([[1.0, 0.0]]).repeat(2, 1)
    logvar = torch.tensor([[0.0, math.log(2.0)]]).repeat(2, 1)
    loss, rc, kl = vae_loss(x, x_out, mu, logvar, beta=0.5)
    expected_kl = 1.0 - math.log(2.0) / 2
    assert rc.item() == pytest.approx(3.0)
    assert kl.item() == pytest.approx(expected_kl)
    assert loss.item() == pytest.approx(3.0 + 0.5 * expected_kl)


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(1)
    model = SpinVAE(16, latent_dim=3, **SMALL)
    model(torch.from_numpy(random_unit_spins(8, 16)))  # update BatchNorm running stats
    model.eval()
    path = tmp_path / "model.pt"
    save_model(path, model, extra={"note": "test", "beta": 0.1})
    loaded = load_model(path)
    assert not loaded.training and loaded.hparams == model.hparams
    assert state_dicts_equal(model, loaded)
    z = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_array_equal(decode(model, z, "cpu"), decode(loaded, z, "cpu"))
    assert torch.load(path, weights_only=True)["note"] == "test"


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_model(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="garbage.pt"):
        load_model(garbage)
    incomplete = tmp_path / "incomplete.pt"
    torch.save({"state_dict": {}}, incomplete)
    with pytest.raises(ValueError, match="incomplete.pt"):
        load_model(incomplete)


# --- training --------------------------------------------------------------------------

def test_split_indices():
    train, val = split_indices(50, 0.2, seed=3)
    assert len(val) == 10 and len(train) == 40
    assert np.intersect1d(train, val).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(50))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    again = split_indices(50, 0.2, seed=3)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(val, again[1])
    assert not np.array_equal(val, split_indices(50, 0.2, seed=4)[1])
    assert len(split_indices(5, 0.01, seed=0)[1]) == 1  # at least one validation sample
    assert len(split_indices(5, 0.0, seed=0)[1]) == 0
    with pytest.raises(ValueError, match="no training samples"):
        split_indices(2, 0.9, seed=0)
    with pytest.raises(ValueError, match="val_fraction"):
        split_indices(10, 1.0, seed=0)


def test_training_decreases_loss(spins):
    model, history = train_vae(spins, epochs=6, **TRAIN)
    assert not model.training
    assert history["loss"][-1] < history["loss"][0]
    for key in HISTORY_KEYS:
        assert len(history[key]) == 6 and all(isinstance(v, float) for v in history[key])
    assert len(history["val_indices"]) == 16 and len(history["train_indices"]) == 48
    assert all(np.isfinite(history["val_loss"]))


def test_no_validation_set_gives_nan(spins):
    _, history = train_vae(spins[:20], epochs=1, **{**TRAIN, "val_fraction": 0.0})
    assert math.isnan(history["val_loss"][0]) and math.isnan(history["val_reconstruction"][0])


def test_same_seed_same_result(spins):
    model_a, hist_a = train_vae(spins, epochs=2, **TRAIN)
    model_b, hist_b = train_vae(spins, epochs=2, **TRAIN)
    assert state_dicts_equal(model_a, model_b)
    for key in HISTORY_KEYS[:-1]:
        assert hist_a[key] == hist_b[key]


def test_resume_equals_uninterrupted(spins, tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    full_model, full = train_vae(spins, epochs=3, **TRAIN)
    _, first = train_vae(spins, epochs=2, checkpoint=ckpt, **TRAIN)  # "interrupted" after 2
    resumed_model, resumed = train_vae(spins, epochs=3, checkpoint=ckpt, **TRAIN)
    assert resumed["epoch_time"][:2] == first["epoch_time"]  # epochs 1-2 were not rerun
    assert state_dicts_equal(full_model, resumed_model)
    for key in HISTORY_KEYS[:-1]:
        assert resumed[key] == full[key]
    np.testing.assert_array_equal(resumed["val_indices"], full["val_indices"])
    # A finished checkpoint is returned as is; one past `epochs` is ignored.
    done_model, done = train_vae(spins, epochs=3, checkpoint=ckpt, **TRAIN)
    assert done["epoch_time"] == resumed["epoch_time"] and state_dicts_equal(done_model, full_model)
    with pytest.warns(RuntimeWarning, match="epochs=2"):
        _, shorter = train_vae(spins, epochs=2, checkpoint=ckpt, **TRAIN)
    assert shorter["loss"] == full["loss"][:2]


@pytest.mark.parametrize("n, batch_size", [(1, 4), (3, 4), (4, 4), (5, 4), (6, 4), (9, 4), (100, 16), (97, 16)])
def test_n_batches_counts_what_an_epoch_visits(n, batch_size):
    from latentopt.trainers.common import _batches, n_batches

    assert n_batches(n, batch_size) == len(_batches(n, batch_size, torch.Generator().manual_seed(0)))


def test_onecycle_and_cosine_schedules_follow_their_formulas():
    from latentopt.trainers.common import make_lr_scheduler

    def trace(schedule, lr=1e-2, steps=100):
        opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=lr)
        sched = make_lr_scheduler(opt, schedule, lr, steps)
        out = []
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            if sched is not None:
                sched.step()
        return np.array(out)

    assert np.all(trace("constant") == 1e-2)
    one = trace("onecycle")  # Smith & Topin: lr/25 -> lr at 30 % of the steps -> lr/25e4
    assert one[0] == pytest.approx(1e-2 / 25) and one.max() == pytest.approx(1e-2, rel=1e-3)
    assert abs(int(one.argmax()) - 29) <= 1 and one[-1] == pytest.approx(1e-2 / 25e4, rel=0.05)
    t = np.arange(100)
    assert np.allclose(trace("cosine"), 1e-2 * (1 + np.cos(np.pi * t / 100)) / 2)
    with pytest.raises(ValueError, match="lr_schedule: expected one of"):
        trace("linear")


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_a_scheduled_training_resumes_exactly(spins, tmp_path, monkeypatch, schedule):
    """The schedule's position is in the checkpoint: a run killed in epoch 3 and resumed equals an uninterrupted one."""
    from latentopt.trainers import common

    kw = {**TRAIN, "lr_schedule": schedule}
    full_model, full = train_vae(spins, epochs=3, **kw)
    real = common._train_epoch
    calls = {"n": 0}

    def dies_in_epoch_3(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return real(*a, **k)

    monkeypatch.setattr(common, "_train_epoch", dies_in_epoch_3)
    with pytest.raises(RuntimeError, match="killed"):
        train_vae(spins, epochs=3, checkpoint=tmp_path / "ck.pt", **kw)
    monkeypatch.setattr(common, "_train_epoch", real)
    resumed_model, resumed = train_vae(spins, epochs=3, checkpoint=tmp_path / "ck.pt", **kw)
    assert state_dicts_equal(full_model, resumed_model)
    for key in HISTORY_KEYS[:-1]:
        assert resumed[key] == full[key]
    # the schedule spans `epochs`: a longer run does not continue this one's checkpoint
    with pytest.warns(RuntimeWarning, match="other settings"):
        train_vae(spins, epochs=4, checkpoint=tmp_path / "ck.pt", **kw)


def test_mismatched_checkpoint_is_ignored(spins, tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    train_vae(spins, epochs=1, checkpoint=ckpt, **{**TRAIN, "seed": 1})
    fresh_model, fresh = train_vae(spins, epochs=2, **TRAIN)
    with pytest.warns(RuntimeWarning, match="other settings"):
        model, history = train_vae(spins, epochs=2, checkpoint=ckpt, **TRAIN)
    assert state_dicts_equal(model, fresh_model)
    assert history["loss"] == fresh["loss"]
    # Same settings, other data: also ignored.
    with pytest.warns(RuntimeWarning, match="other settings"):
        train_vae(spins[::-1].copy(), epochs=2, checkpoint=ckpt, **TRAIN)


def test_init_posterior_logvar_starts_the_posterior_narrow_and_leaves_mu():
    torch.manual_seed(0)
    model = SpinVAE(16, latent_dim=8, **SMALL).eval()
    x = torch.from_numpy(smooth_spins(32))
    with torch.no_grad():
        mu0, logvar0 = model.encode(x)
        b0 = model.encoder[-1].bias[8:].clone()
        assert init_posterior_logvar(model, -4.0) is model
        mu, logvar = model.encode(x)
    assert abs(float(logvar0.mean())) < 1.0  # PyTorch's start: sigma about 1, as wide as the prior
    assert torch.equal(mu, mu0)  # only the log-variance half of the head's bias moves
    torch.testing.assert_close(logvar, logvar0 - b0 - 4.0, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="logvar_init: expected a finite number"):
        init_posterior_logvar(model, float("nan"))


def test_logvar_init_is_part_of_the_checkpoint_and_absent_changes_nothing(spins, tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    plain, plain_history = train_vae(spins, epochs=1, **TRAIN)
    same, same_history = train_vae(spins, epochs=1, logvar_init=None, **TRAIN)
    assert state_dicts_equal(plain, same) and plain_history["loss"] == same_history["loss"]
    train_vae(spins, epochs=1, checkpoint=ckpt, logvar_init=-4.0, **TRAIN)
    with pytest.warns(RuntimeWarning, match="other settings"):  # another start: not resumed
        model, _ = train_vae(spins, epochs=1, checkpoint=ckpt, **TRAIN)
    assert state_dicts_equal(model, plain)


def test_train_vae_rejects_bad_input(spins):
    bad = spins.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        train_vae(bad, epochs=1, **TRAIN)
    with pytest.raises(ValueError, match="shape"):
        train_vae(spins[:, :2], epochs=1, **TRAIN)
    with pytest.raises(ValueError, match="L"):
        train_vae(random_unit_spins(4, 24), epochs=1, **TRAIN)


def test_encode_decode_helpers_and_history_file(spins, tmp_path):
    model, history = train_vae(spins[:24], epochs=1, **TRAIN)
    z = encode_mean(model, spins, "cpu", batch_size=10)
    assert z.shape == (64, 4) and z.dtype == np.float32
    out = decode(model, z, "cpu", batch_size=10)
    assert out.shape == spins.shape and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)

    path = tmp_path / "history.h5"
    write_history(path, history, {"beta": 0.1, "channels": [4, 8, 8, 8]})
    data = read_h5(path)
    np.testing.assert_array_equal(data["loss"], history["loss"])
    np.testing.assert_array_equal(data["val_indices"], history["val_indices"])
    assert set(data) == set(HISTORY_KEYS) | {"train_indices", "val_indices"}
    attrs = read_attrs(path)
    assert attrs["beta"] == 0.1 and attrs["channels"] == [4, 8, 8, 8]


def test_random_translations_are_periodic_shifts():
    from latentopt.trainers.vae import random_translations

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, 8, 8)
    y = random_translations(x, gen)
    shifts = set()
    for i in range(len(x)):
        match = [(a, b) for a in range(8) for b in range(8) if torch.equal(torch.roll(x[i], (a, b), (-2, -1)), y[i])]
        assert len(match) == 1
        shifts.add(match[0])
    assert len(shifts) > 1  # each state gets its own shift


# --- CPU speed: padding, normalisation, layout, precision, inference (issue 13) ---------

def test_circular_pad_equals_f_pad_values_and_gradient():
    import torch.nn.functional as F

    from latentopt.models.vae import circular_pad

    x = torch.randn(2, 3, 5, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(circular_pad, (x,))
    g = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    ref = F.pad(x, (1, 1, 1, 1), mode="circular")
    for inp in (x, x.contiguous(memory_format=torch.channels_last)):
        out = circular_pad(inp)
        assert torch.equal(out, ref)
        assert out.is_contiguous(memory_format=torch.channels_last) == (inp is not x)
        grad, = torch.autograd.grad(out, x, g)
        ref_grad, = torch.autograd.grad(ref, x, g, retain_graph=True)
        torch.testing.assert_close(grad, ref_grad, rtol=0, atol=1e-12)
    # each input site receives the gradient of every padded site that copies it: a corner
    # site appears 4 times (itself, two edge copies, one corner copy)
    ones, = torch.autograd.grad(circular_pad(x).sum(), x)
    assert ones[0, 0, 0, 0] == 4 and ones[0, 0, 0, 3] == 2 and ones[0, 0, 2, 3] == 1


def test_planar_batch_norm_is_batch_norm_in_any_layout():
    """Same values, gradients, running statistics and state-dict keys as BatchNorm2d (float64:
    only the summation order differs); the spin VAE's 3-channel block uses it."""
    from latentopt.models.vae import PlanarBatchNorm2d

    torch.manual_seed(0)
    ours, ref = PlanarBatchNorm2d(3).double(), torch.nn.BatchNorm2d(3).double()
    with torch.no_grad():
        ref.weight.uniform_(0.5, 1.5)
        ref.bias.uniform_(-0.5, 0.5)
    ours.load_state_dict(ref.state_dict())
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = torch.randn(4, 3, 6, 6, dtype=torch.float64) * 2 + 1
    for train in (True, False):
        ours.train(train), ref.train(train)
        for inp in (x, x.contiguous(memory_format=torch.channels_last)):
            a, b = inp.clone().requires_grad_(), x.clone().requires_grad_()
            out, out_ref = ours(a), ref(b)
            assert out.is_contiguous()
            torch.testing.assert_close(out, out_ref, rtol=0, atol=1e-12)
            g = torch.randn_like(x)
            torch.testing.assert_close(torch.autograd.grad(out, a, g)[0], torch.autograd.grad(out_ref, b, g)[0],
                                       rtol=0, atol=1e-12)
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                torch.testing.assert_close(getattr(ours, name), getattr(ref, name), rtol=0, atol=1e-12)
    blocks = [m for m in SpinVAE(16, 2, channels=(8,)).modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert [type(m).__name__ for m in blocks] == ["BatchNorm2d", "PlanarBatchNorm2d"]  # encoder 8 ch., decoder 3 ch.


def test_unit_vectors_matches_normalize():
    import torch.nn.functional as F

    from latentopt.models.vae import unit_vectors

    x = torch.randn(3, 3, 8, 8)
    x[0, :, 0, 0] = 0.0
    out = unit_vectors(x)
    torch.testing.assert_close(out, F.normalize(x, dim=1, eps=1e-8), rtol=0, atol=1e-6)
    assert torch.all(out[0, :, 0, 0] == 0)
    cl = unit_vectors(x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last))
    assert cl.dtype == torch.float32 and cl.is_contiguous()


def test_channels_last_model_gives_the_same_outputs():
    from latentopt.models.vae import prefer_memory_format

    torch.manual_seed(2)
    ref = SpinVAE(16, latent_dim=3, **SMALL)
    ref(torch.from_numpy(random_unit_spins(8, 16)))  # BatchNorm running stats
    ref.eval()
    cl = SpinVAE(16, latent_dim=3, **SMALL)
    cl.load_state_dict(ref.state_dict())
    assert prefer_memory_format(cl.eval()) is cl
    assert cl.encoder[0].conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not cl.encoder[0].conv.weight.is_contiguous()
    x = torch.from_numpy(random_unit_spins(5, 16, seed=3))
    z = torch.randn(5, 3)
    with torch.no_grad():
        torch.testing.assert_close(cl.encode(x)[0], ref.encode(x)[0], rtol=1e-5, atol=1e-5)
        out = cl.decode(z)
        torch.testing.assert_close(out, ref.decode(z), rtol=1e-5, atol=1e-5)
    assert out.is_contiguous()
    # training mode (batch statistics) and the gradient with respect to the input agree too:
    # in float64 the two layouts compute the same function to rounding
    def input_gradient(model, dtype):
        model.train()
        xd = x.to(dtype)
        xg = xd.clone().requires_grad_(True)
        g, = torch.autograd.grad(vae_loss(xd, *model(xg, sample=False), 0.1)[0], xg)
        assert g.dtype == dtype
        return g.double()

    cl64 = prefer_memory_format(copy.deepcopy(ref).double())
    assert cl64.encoder[0].conv.weight.is_contiguous(memory_format=torch.channels_last)
    g_ref64 = input_gradient(copy.deepcopy(ref).double(), torch.float64)
    g_cl64 = input_gradient(cl64, torch.float64)
    assert (g_cl64 - g_ref64).abs().max() <= 1e-10 * g_ref64.abs().max()
    # in float32 both layouts stay within float32 rounding of that gradient. The training-mode
    # loss of 5 states amplifies rounding (BatchNorm1d over 5 samples, LeakyReLU kinks): the
    # NCHW model deviates by up to ~1e-4 of the largest component, the channels-last one (whose
    # single-threaded BatchNorm2d reductions round ~5x more) by up to ~4e-4 on one thread
    # (seeds 2-3, 5-64 states).
    for model in (cl, ref):
        assert (input_gradient(model, torch.float32) - g_ref64).abs().max() <= 1e-3 * g_ref64.abs().max()


def test_saved_model_does_not_depend_on_layout(tmp_path):
    from latentopt.models.vae import prefer_memory_format

    torch.manual_seed(3)
    model = SpinVAE(16, latent_dim=3, **SMALL).eval()
    save_model(tmp_path / "a.pt", model)
    save_model(tmp_path / "b.pt", prefer_memory_format(model))
    a = torch.load(tmp_path / "a.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) and b[k].is_contiguous() for k in a)
    loaded = load_model(tmp_path / "b.pt")
    assert loaded.encoder[0].conv.weight.is_contiguous(memory_format=torch.channels_last)  # CPU layout


def test_inference_path_equals_grad_path_and_leaves_the_model_differentiable():
    from latentopt.latent import frozen_decoder

    torch.manual_seed(4)
    model = SpinVAE(16, latent_dim=3, **SMALL)
    model(torch.from_numpy(random_unit_spins(8, 16)))
    model.eval()
    z = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)
    x = random_unit_spins(6, 16, seed=5)
    inferred = decode(model, z, "cpu")  # inference mode, channels-last
    mu = encode_mean(model, x, "cpu")
    dec = frozen_decoder(model)
    zt = torch.from_numpy(z).requires_grad_(True)
    with_grad = dec(zt)
    np.testing.assert_allclose(inferred, with_grad.detach().numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(mu, model.encode(torch.from_numpy(x))[0].detach().numpy(), rtol=0, atol=1e-6)
    # the parameters were not turned into inference tensors: gradients still flow to z
    with_grad.pow(2).sum().backward()
    assert zt.grad is not None and torch.isfinite(zt.grad).all() and zt.grad.abs().sum() > 0


def test_precision_setting():
    from latentopt.trainers.vae import native_bf16, resolve_precision

    assert resolve_precision("fp32", "cpu") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cpu") == ("bf16" if native_bf16("cpu") else "fp32")
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(ValueError, match="precision"):
        train_vae(smooth_spins(8), epochs=1, **TRAIN, precision="half")


@pytest.fixture
def one_thread():
    """bf16 weight-gradient kernels of oneDNN (AMX) synchronise their threads with a spinning
    barrier, which stalls on an oversubscribed machine; one thread keeps the test fast anywhere."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_bf16_training_learns_and_resumes_exactly(spins, tmp_path, one_thread):
    ckpt = tmp_path / "ckpt.pt"
    bf16 = dict(TRAIN, precision="bf16")
    full_model, full = train_vae(spins, epochs=3, **bf16)
    assert full["precision"] == "bf16" and full["val_loss"][-1] < full["val_loss"][0]
    one_model, one = train_vae(spins, epochs=1, **bf16)
    fp32_model, fp32 = train_vae(spins, epochs=1, **TRAIN)
    assert fp32["precision"] == "fp32"
    assert not state_dicts_equal(one_model, fp32_model)  # bf16 arithmetic did run
    # ... and changed the first epoch's losses only a little (bf16 has 8 significant bits)
    assert full["loss"][0] != fp32["loss"][0]
    assert full["loss"][0] == pytest.approx(fp32["loss"][0], rel=0.01)
    assert full["val_loss"][0] == pytest.approx(fp32["val_loss"][0], rel=0.01)
    assert all(p.dtype == torch.float32 for p in full_model.parameters())
    _, first = train_vae(spins, epochs=2, checkpoint=ckpt, **bf16)
    resumed_model, resumed = train_vae(spins, epochs=3, checkpoint=ckpt, **bf16)
    assert resumed["epoch_time"][:2] == first["epoch_time"]
    assert state_dicts_equal(full_model, resumed_model)
    for key in HISTORY_KEYS[:-1]:
        assert resumed[key] == full[key]
    # a float32 run does not resume a bf16 checkpoint
    with pytest.warns(RuntimeWarning, match="other settings"):
        train_vae(spins, epochs=1, checkpoint=ckpt, **TRAIN)
