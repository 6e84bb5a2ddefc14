"""Tests of the RUGAN (latentopt.models.rugan) and its WGAN-GP + CT trainer (latentopt.trainers.gan)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from latentopt.io import read_attrs, read_h5
from latentopt.models.rugan import (ConditionalBatchNorm2d, PixelNorm, RUGANCritic, RUGANGenerator, generate, load_generator, noise_blocks,
                                    save_generator)
from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin
from latentopt.trainers.gan import (GAN_HISTORY_KEYS, consistency_term, gradient_penalty, recalibrate_batchnorm,
                                    train_rugan,
                                    write_gan_history)

@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tensors here are tiny: intra-op threads only add synchronisation (very costly on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY_G = dict(noise_channels=3, channels=6, out_channels=4, n_blocks=1)
TINY_C = dict(channels=(4, 6), dropout=0.2)


def _trained_like(gen: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give the batch-norm layers non-trivial running statistics (as after training)."""
    g = torch.Generator().manual_seed(seed)
    for m in gen.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g, dtype=m.running_mean.dtype))
            m.running_var.copy_(torch.rand(m.num_features, generator=g, dtype=m.running_var.dtype) + 0.5)
    return gen


def random_unit_spins(n: int, L: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, 3, L, L))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


# --- generator --------------------------------------------------------------------------

@pytest.mark.parametrize("upsample,label_every_block,film_hidden,norm,upsampling", [
    (2, False, 0, "batch", "subpixel"), (4, True, 0, "batch", "subpixel"), (1, False, 0, "batch", "subpixel"),
    (2, True, 5, "batch", "subpixel"), (2, True, 5, "pixel", "subpixel"), (2, True, 5, "batch", "nearest"),
    (4, False, 0, "batch", "nearest")])
def test_generator_translation_equivariant(upsample, label_every_block, film_hidden, norm, upsampling):
    """Shifting the noise block by one cell shifts the state by the upsampling factor (eval mode)."""
    torch.manual_seed(0)
    gen = _trained_like(RUGANGenerator(8, upsample=upsample, label_every_block=label_every_block,
                                       film_hidden=film_hidden, norm=norm, upsampling=upsampling, **TINY_G))
    if film_hidden:  # give the label MLPs non-zero output layers (they start at zero)
        for m in gen.modules():
            if isinstance(m, ConditionalBatchNorm2d):
                torch.nn.init.normal_(m.mlp[-1].weight, std=0.3)
    gen = gen.double().eval()
    z = torch.randn(2, *gen.noise_shape(2), dtype=torch.float64)
    e = torch.tensor([-1.9, -0.7], dtype=torch.float64)
    out = gen(z, e)
    for dy, dx in ((0, 1), (1, 0), (2, 3)):
        shifted = gen(torch.roll(z, (dy, dx), dims=(-2, -1)), e)
        expected = torch.roll(out, (dy * upsample, dx * upsample), dims=(-2, -1))
        torch.testing.assert_close(shifted, expected, rtol=0, atol=1e-12)
    # and the state is not trivially invariant (the check above can fail)
    assert (gen(torch.roll(z, 1, dims=-1), e) - out).abs().max() > 1e-3
    # the label acts on the whole state
    assert (gen(z, e + 0.5) - out).abs().max() > 1e-6


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
def test_generator_any_size_is_unit_normalized(scale):
    torch.manual_seed(1)
    gen = RUGANGenerator(8, **TINY_G).eval()
    assert gen.noise_shape(scale) == (3, 4 * scale, 4 * scale)
    x = gen(torch.randn(3, *gen.noise_shape(scale)), torch.tensor([-2.0, -1.0, -0.5]))
    assert x.shape == (3, 3, 8 * scale, 8 * scale)
    torch.testing.assert_close(x.norm(dim=1), torch.ones(3, 8 * scale, 8 * scale))
    y = gen.train()(torch.randn(2, 3, 3, 5), torch.tensor([-1.0, -1.5]))  # rectangular, train mode
    assert y.shape == (2, 3, 6, 10)
    torch.testing.assert_close(y.norm(dim=1), torch.ones(2, 6, 10))


def test_pixel_norm_is_per_site_and_mode_independent():
    x = torch.randn(3, 5, 4, 6)
    y = PixelNorm()(x)
    torch.testing.assert_close(y.pow(2).mean(dim=1), torch.ones(3, 4, 6))
    gen = RUGANGenerator(8, norm="pixel", film_hidden=4, **TINY_G)
    z, e = torch.randn(2, 3, 4, 4), torch.tensor([-1.0, -1.5])
    torch.testing.assert_close(gen.train()(z, e), gen.eval()(z, e))  # no batch statistics anywhere
    torch.testing.assert_close(gen(z[:1], e[:1]), gen(z, e)[:1])  # independent of the batch


def test_generator_rejects_bad_arguments():
    with pytest.raises(ValueError, match="norm"):
        RUGANGenerator(8, norm="layer")
    with pytest.raises(ValueError, match="upsampling"):
        RUGANGenerator(8, upsampling="bilinear")
    with pytest.raises(ValueError, match="L"):
        RUGANGenerator(10, upsample=4)
    with pytest.raises(ValueError, match="label_std"):
        RUGANGenerator(8, label_std=0.0)
    gen = RUGANGenerator(8, **TINY_G)
    with pytest.raises(ValueError, match="scale"):
        gen.noise_shape(0)
    with pytest.raises(ValueError, match="z"):
        gen(torch.randn(2, 4, 4, 4), torch.zeros(2))
    with pytest.raises(ValueError, match="labels"):
        gen(torch.randn(2, 3, 4, 4), torch.zeros(3))


def test_label_standardization_and_save_load(tmp_path):
    torch.manual_seed(2)
    gen = _trained_like(RUGANGenerator(8, label_mean=-1.3, label_std=0.4, **TINY_G)).eval()
    e = torch.tensor([-1.7, -0.9])
    torch.testing.assert_close(gen.normalize_labels(e), torch.tensor([-1.0, 1.0]))
    save_generator(tmp_path / "generator.pt", gen, extra={"epochs": 3})
    loaded = load_generator(tmp_path / "generator.pt")
    assert loaded.hparams == gen.hparams and not loaded.training
    assert torch.load(tmp_path / "generator.pt", weights_only=True)["epochs"] == 3
    a = generate(gen, [-1.7, -0.9, -1.2], scale=2, seed=5)
    np.testing.assert_array_equal(a, generate(loaded, [-1.7, -0.9, -1.2], scale=2, seed=5))
    b = generate(loaded, [-1.7, -0.9, -1.2], scale=2, seed=5, batch_size=1)  # same noise, other batches
    np.testing.assert_allclose(a, b, atol=1e-5)  # float32 convolutions round per batch shape
    assert a.shape == (3, 3, 16, 16) and a.dtype == np.float32
    # sample i depends only on (seed, i)
    np.testing.assert_array_equal(noise_blocks((3, 4, 4), 5, [1]), noise_blocks((3, 4, 4), 5, [0, 1])[1:])


# --- critic -----------------------------------------------------------------------------

@pytest.mark.parametrize("system", [None, {"L": 8, "D": 0.3}])
def test_critic_scores_any_size(system):
    torch.manual_seed(3)
    critic = RUGANCritic(system=system, **TINY_C).eval()
    for shape in ((8, 8), (16, 16), (32, 32), (6, 10), (1, 1)):
        x = torch.nn.functional.normalize(torch.randn(4, 3, *shape), dim=1)
        score, phi = critic(x, torch.full((4,), -1.5), return_features=True)
        assert score.shape == (4,) and phi.shape == (4, 6) and torch.isfinite(score).all()
    # the label matters: the score changes with the label
    x = torch.nn.functional.normalize(torch.randn(2, 3, 8, 8), dim=1)
    assert not torch.allclose(critic(x, torch.tensor([-2.0, -2.0])), critic(x, torch.tensor([-0.5, -0.5])))


def test_critic_energy_channel_sees_the_exact_energy_density():
    """With a system, a state of another energy changes the input; the channel is standardized like the labels."""
    critic = RUGANCritic(channels=(2,), dropout=0.0, system={"L": 8}, label_mean=-1.0, label_std=0.5)
    captured = {}

    def hook(module, inputs, output):
        captured["x"] = inputs[0]

    critic.stages[0].register_forward_hook(hook)
    x = torch.zeros(1, 3, 8, 8)
    x[:, 2] = 1.0  # ferromagnet along z: density -2J on every site
    critic(x, torch.tensor([-2.0]))
    torch.testing.assert_close(captured["x"][0, 4], torch.full((8, 8), (-2.0 + 1.0) / 0.5))
    torch.testing.assert_close(captured["x"][0, 3], torch.full((8, 8), (-2.0 + 1.0) / 0.5))


# --- loss terms -------------------------------------------------------------------------

def test_gradient_penalty_of_linear_critics():
    torch.manual_seed(4)
    real = torch.randn(5, 3, 4, 4)
    fake = torch.randn(5, 3, 4, 4)
    e = torch.zeros(5)
    eps = torch.rand(5)
    w = torch.randn(3 * 4 * 4)
    w = w / w.norm()
    for slope, expected in ((1.0, 0.0), (2.0, 1.0), (0.5, 0.25)):
        critic = lambda x, energies, a=slope: a * (x.flatten(1) @ w) + energies  # noqa: E731
        gp = gradient_penalty(critic, real, fake, e, eps)
        assert float(gp) == pytest.approx(expected, abs=1e-6)
    # a quadratic critic has a gradient that depends on the interpolate: GP > 0 and differentiable
    lin = torch.nn.Linear(48, 1)
    gp = gradient_penalty(lambda x, en: lin(x.flatten(1)).squeeze(-1) ** 2, real, fake, e, eps)
    gp.backward()
    assert gp > 0 and lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0


def test_consistency_term_needs_dropout():
    torch.manual_seed(5)
    x = torch.nn.functional.normalize(torch.randn(6, 3, 8, 8), dim=1)
    e = torch.linspace(-2, -1, 6)
    no_dropout = RUGANCritic(channels=(4, 6), dropout=0.0).train()
    ct, score = consistency_term(no_dropout, x, e)
    assert ct.item() == 0.0 and score.shape == (6,)
    with_dropout = RUGANCritic(channels=(4, 6), dropout=0.5).train()
    ct, _ = consistency_term(with_dropout, x, e)
    assert ct.item() > 0
    ct_margin, _ = consistency_term(with_dropout, x, e, margin=1e6)
    assert ct_margin.item() == 0.0


# --- training ---------------------------------------------------------------------------

TRAIN = dict(batch_size=8, n_critic=2, lr=1e-3, seed=11, ema=0.5, generator=TINY_G, critic=TINY_C, n_monitor=16,
             progress=False)


@pytest.fixture(scope="module")
def data():
    spins = random_unit_spins(24, 8, seed=3)
    model = ChiralMagnet(L=8)
    return spins, energy_per_spin(spins, model), model


def _state_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_training_history_and_exact_resume(tmp_path, data):
    spins, energies, model = data
    g_full, c_full, h_full = train_rugan(spins, energies, epochs=2, model=model, **TRAIN)
    assert set(GAN_HISTORY_KEYS) <= h_full.keys()
    assert all(len(h_full[k]) == 2 for k in GAN_HISTORY_KEYS)
    assert h_full["generator_steps"] == 2 * (24 // 8) // 2
    assert all(math.isfinite(v) for k in ("critic_loss", "wasserstein", "gp", "ct", "energy_mae") for v in h_full[k])
    assert g_full.hparams["label_mean"] == pytest.approx(float(np.mean(energies)))

    ckpt = tmp_path / "gan.ckpt"
    train_rugan(spins, energies, epochs=1, model=model, checkpoint=ckpt, **TRAIN)  # "interrupted" after 1 epoch
    g_res, c_res, h_res = train_rugan(spins, energies, epochs=2, model=model, checkpoint=ckpt, **TRAIN)
    assert _state_equal(g_full, g_res) and _state_equal(c_full, c_res)
    for key in GAN_HISTORY_KEYS:
        if key != "epoch_time":
            np.testing.assert_array_equal(h_full[key], h_res[key], err_msg=key)  # NaN == NaN here
    assert h_res["generator_steps"] == h_full["generator_steps"]

    # a different seed gives another model; a checkpoint of other settings is ignored with a warning
    g_other, _, _ = train_rugan(spins, energies, epochs=1, model=model, **{**TRAIN, "seed": 12})
    assert not _state_equal(g_other, g_full)
    with pytest.warns(RuntimeWarning, match="other settings"):
        train_rugan(spins, energies, epochs=1, model=model, checkpoint=ckpt, **{**TRAIN, "n_critic": 3})

    write_gan_history(tmp_path / "history.h5", h_full, attrs={"epochs": 2})
    stored = read_h5(tmp_path / "history.h5")
    np.testing.assert_array_equal(stored["wasserstein"], h_full["wasserstein"])
    assert read_attrs(tmp_path / "history.h5")["generator_steps"] == h_full["generator_steps"]


@pytest.mark.parametrize("bad,match", [(dict(n_critic=0), "n_critic"), (dict(batch_size=1), "batch_size"),
                                       (dict(lr=0.0), "lr"), (dict(betas=(0.0, 1.0)), "betas"),
                                       (dict(epochs=0), "epochs"), (dict(generator={"L": 4}), "generator")])
def test_train_rejects_bad_settings(data, bad, match):
    spins, energies, _ = data
    kw = {**TRAIN, "epochs": 1, **bad}
    with pytest.raises(ValueError, match=match):
        train_rugan(spins, energies, **kw)
    with pytest.raises(ValueError, match="energies"):
        train_rugan(spins, energies[:-1], epochs=1, seed=0)


def test_recalibrate_batchnorm_sets_population_statistics():
    torch.manual_seed(6)
    gen = _trained_like(RUGANGenerator(8, noise_channels=3, channels=5, out_channels=4, n_blocks=0))
    z, e = torch.randn(24, 3, 4, 4), torch.linspace(-2.0, -0.5, 24)
    recalibrate_batchnorm(gen, z, e, batch_size=8)
    assert not gen.training
    with torch.no_grad():  # the first batch norm sees the stem output
        from latentopt.models.rugan import _label_map
        h = gen.stem(torch.cat([z, _label_map(gen.normalize_labels(e), z)], dim=1))
    bn = gen.up_norm.norm
    torch.testing.assert_close(bn.running_mean, h.mean(dim=(0, 2, 3)), atol=1e-5, rtol=1e-5)
    # cumulative average of the per-batch unbiased variances (3 equal batches)
    var = torch.stack([h[k:k + 8].var(dim=(0, 2, 3), unbiased=True) for k in (0, 8, 16)]).mean(0)
    torch.testing.assert_close(bn.running_var, var, atol=1e-5, rtol=1e-5)
    assert bn.momentum == 0.1


def test_energy_term_is_the_exact_energy_mismatch(data):
    from latentopt.trainers.wgan_losses import energy_loss as _energy_loss

    spins, energies, model = data
    x = torch.from_numpy(spins[:4]).double()
    e = torch.from_numpy(np.asarray(energies[:4]))
    assert float(_energy_loss(x, e, model, 0.5)) == pytest.approx(0.0, abs=1e-10)
    assert float(_energy_loss(x, e + 0.1, model, 0.5)) == pytest.approx(0.04, rel=1e-6)
    big = torch.from_numpy(np.tile(spins[:2], (1, 1, 2, 2))).double()  # a 16 x 16 tiling: same energy per spin
    assert float(_energy_loss(big, e[:2], model, 1.0)) == pytest.approx(0.0, abs=1e-10)
    _, _, h = train_rugan(spins, energies, epochs=1, model=model, energy_weight=1.0, energy_scales=[1, 2],
                          **{k: v for k, v in TRAIN.items() if k != "ema"})
    assert np.isfinite(h["energy_loss"][0]) and h["energy_loss"][0] > 0
    with pytest.raises(ValueError, match="energy_weight"):
        train_rugan(spins, energies, epochs=1, energy_weight=1.0, **TRAIN)


def test_icnr_initial_upsampling_has_no_subpixel_pattern():
    """At initialization the u x u sites of a cell receive identical features (nearest-neighbour upsampling)."""
    torch.manual_seed(7)
    gen = RUGANGenerator(8, upsample=2, **TINY_G).eval()
    h = torch.randn(2, gen.hparams["channels"], 4, 4)
    up = gen.up(h)  # (2, out_channels, 8, 8)
    cells = up.reshape(2, up.shape[1], 4, 2, 4, 2)
    torch.testing.assert_close(cells, cells[:, :, :, :1, :, :1].expand_as(cells))
