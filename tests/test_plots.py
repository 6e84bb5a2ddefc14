"""Tests of :mod:`latentopt.plots` (common helpers and spin figures): colour scheme, layouts, atomic saving."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from matplotlib.figure import Figure

from latentopt.plots import common, spins

L = 8


def uniform(direction, L: int = L) -> np.ndarray:
    """A ``(3, L, L)`` state with every spin along ``direction``."""
    s = np.asarray(direction, dtype=float)
    return np.broadcast_to((s / np.linalg.norm(s))[:, None, None], (3, L, L)).copy()


def spiral(q: float = 2 * np.pi / L, L: int = L) -> np.ndarray:
    """``s = (sin qx, 0, cos qx)``, x along the last axis."""
    qx = q * np.arange(L)[None, :] * np.ones((L, 1))
    return np.stack([np.sin(qx), np.zeros_like(qx), np.cos(qx)])


@pytest.fixture
def batch() -> np.ndarray:
    rng = np.random.default_rng(0)
    s = rng.standard_normal((3, 3, L, L))
    return s / np.linalg.norm(s, axis=1, keepdims=True)


# --------------------------------------------------------------------------- spin_to_rgb


@pytest.mark.parametrize("direction, rgb", [
    ((0, 0, 1), (1.0, 1.0, 1.0)),    # +z: white
    ((0, 0, -1), (0.0, 0.0, 0.0)),   # -z: black
    ((1, 0, 0), (1.0, 0.0, 0.0)),    # +x: hue 0, pure red
    ((0, 1, 0), (0.5, 1.0, 0.0)),    # +y: hue 1/4, chartreuse
    ((-1, 0, 0), (0.0, 1.0, 1.0)),   # -x: hue 1/2, cyan
    ((0, -1, 0), (0.5, 0.0, 1.0)),   # -y: hue 3/4, violet
])
def test_spin_to_rgb_known_colours(direction, rgb):
    out = common.spin_to_rgb(uniform(direction))
    assert out.shape == (L, L, 3)
    np.testing.assert_allclose(out, np.broadcast_to(rgb, (L, L, 3)), atol=1e-12)


def test_spin_to_rgb_matches_colorsys(batch):
    out = common.spin_to_rgb(batch)
    sx, sy, sz = batch[1, :, 2, 5]
    hue = (np.arctan2(sy, sx) / (2 * np.pi)) % 1.0
    np.testing.assert_allclose(out[1, 2, 5], colorsys.hls_to_rgb(hue, (1 + sz) / 2, 1.0), atol=1e-12)


def test_spin_to_rgb_batch_shape_and_range(batch):
    out = common.spin_to_rgb(batch)
    assert out.shape == (3, L, L, 3)
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out[2], common.spin_to_rgb(batch[2]))


@pytest.mark.parametrize("bad", [np.zeros((L, L)), np.zeros((2, L, L)), np.zeros((1, 1, 3, L, L)),
                                 np.full((3, L, L), np.nan)])
def test_spin_to_rgb_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="spins"):
        common.spin_to_rgb(bad)


# --------------------------------------------------------------------------- figures


def test_plot_spin_grid_layout(batch):
    fig = common.plot_spin_grid(np.concatenate([batch, batch[:2]]), titles=list("abcde"), ncols=3,
                               suptitle="states")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 5 + 1  # panels + colour wheel
    assert [ax.get_title() for ax in fig.axes[:5]] == list("abcde")
    image = fig.axes[0].images[0]
    assert image.origin == "lower"
    assert fig.axes[0].get_xticks().size == 0 and fig.axes[0].get_yticks().size == 0


def test_plot_spin_grid_single_state():
    assert len(common.plot_spin_grid(spiral()).axes) == 2


@pytest.mark.parametrize("kwargs", [dict(titles=["only one"]), dict(ncols=0)])
def test_plot_spin_grid_rejects_bad_arguments(batch, kwargs):
    with pytest.raises(ValueError):
        common.plot_spin_grid(batch, **kwargs)


def test_plot_energy_histograms():
    rng = np.random.default_rng(1)
    densities = {"X_IN": rng.normal(-2, 0.1, (4, L, L)), "X_VAE": rng.normal(-1.9, 0.2, 50)}
    fig = spins.plot_energy_histograms(densities, bins=20, threshold=-1.5)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "local energy density ε (J)"
    assert len(ax.patches) == 2  # one step outline per set
    assert len(ax.lines) == 1  # the threshold


@pytest.mark.parametrize("densities", [{}, {"X_IN": np.array([])}, {"X_IN": np.array([1.0, np.nan])}])
def test_plot_energy_histograms_rejects_bad_input(densities):
    with pytest.raises(ValueError):
        spins.plot_energy_histograms(densities)


def test_plot_energy_density_maps(batch):
    densities = np.random.default_rng(2).normal(size=(3, L, L))
    masks = densities > 1.0
    fig = spins.plot_energy_density_maps(batch, densities, masks, titles=["a", "b", "c"])
    assert len(fig.axes) == 2 * 3 + 2  # spins, densities, colour wheel, colour bar
    spin_ax, density_ax = fig.axes[0], fig.axes[1]
    rows, cols = np.nonzero(masks[0])
    for ax in (spin_ax, density_ax):
        np.testing.assert_array_equal(ax.lines[0].get_xdata(), cols)
        np.testing.assert_array_equal(ax.lines[0].get_ydata(), rows)
    limits = {ax.images[0].get_clim() for ax in fig.axes[1:6:2]}
    assert limits == {(densities.min(), densities.max())}  # one shared colour scale


def test_plot_energy_density_maps_rejects_mismatched_shapes(batch):
    densities = np.zeros((3, L, L))
    with pytest.raises(ValueError, match="densities"):
        spins.plot_energy_density_maps(batch, densities[:2], densities > 0)
    with pytest.raises(ValueError, match="nodal_masks"):
        spins.plot_energy_density_maps(batch, densities, np.zeros((3, L, L + 1), bool))


def test_plot_training_curves():
    history = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.1, 1.7],
               "reconstruction": [2.9, 1.9, 1.4], "kl": [0.1, 0.1, 0.1]}
    fig = common.plot_training_curves(history)
    assert len(fig.axes) == 3  # loss, reconstruction and its KL twin
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [1, 2, 3])
    assert fig.axes[0].get_yscale() == "log"


@pytest.mark.parametrize("history", [{"loss": [1.0]}, {"loss": [1.0, 2.0], "val_loss": [1.0],
                                                       "reconstruction": [1.0, 2.0], "kl": [0.0, 0.0]}])
def test_plot_training_curves_rejects_bad_history(history):
    with pytest.raises(ValueError, match="history"):
        common.plot_training_curves(history)


def test_plot_optimizer_traces_groups_by_objective():
    trace = np.linspace(0, 1, 10)
    assert len(spins.plot_optimizer_traces({"a": trace, "b": trace}, ylabel="W").axes) == 1
    fig = spins.plot_optimizer_traces({"a": (trace, "W"), "b": (trace, "W"), "c": (-trace, "energy")})
    assert len(fig.axes) == 2
    assert [len(ax.lines) for ax in fig.axes] == [2, 1]
    assert fig.axes[1].get_ylabel() == "best energy"


def test_plot_optimizer_traces_rejects_bad_trace():
    with pytest.raises(ValueError, match="traces"):
        spins.plot_optimizer_traces({"a": np.zeros((3, 2))})


def test_plot_best_states(batch):
    fig = spins.plot_best_states(batch, [0, 40, 120], [0.5, 1.02, 3.1], objective="W", run="genetic")
    assert len(fig.axes) == 3 + 1
    assert fig.axes[2].get_title() == "it 120: W=3.1"
    with pytest.raises(ValueError, match="iterations"):
        spins.plot_best_states(batch, [0, 1], [0.5, 1.02, 3.1], objective="W", run="genetic")


def test_plot_w_vs_mz():
    rng = np.random.default_rng(3)
    fig = spins.plot_w_vs_mz(rng.normal(size=100), rng.normal(size=100), {"max W": (3.0, 0.2), "min E": (1.0, -0.1)})
    (ax,) = fig.axes
    assert len(ax.collections) == 3
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["dataset", "max W", "min E"]
    with pytest.raises(ValueError, match="Mz"):
        spins.plot_w_vs_mz(np.zeros(5), np.zeros(4), {})
    with pytest.raises(ValueError, match="marked"):
        spins.plot_w_vs_mz(np.zeros(5), np.zeros(5), {"x": (1.0,)})


# --------------------------------------------------------------------------- saving


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_save_figure_is_atomic(tmp_path, suffix, magic):
    path = tmp_path / "sub" / f"grid{suffix}"
    common.save_figure(common.plot_spin_grid(spiral()), path)
    assert path.read_bytes().startswith(magic)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_save_figure_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        common.save_figure(Figure(), tmp_path / "figure.xyz")
    assert list(tmp_path.iterdir()) == []
