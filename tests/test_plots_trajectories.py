"""Figures of trajectory studies (latentopt.plots.trajectories): panels, titles and the data drawn, from tiny arrays."""

from __future__ import annotations

import io

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.quiver import Quiver

from latentopt.plots import trajectories as pt

T = np.linspace(0.0, 1.0, 5)
# a 4 x 3 latent grid (z_1 has 4 points, z_2 has 3), row-major: index = i_2 * 4 + i_1
AXES = (np.linspace(-1.0, 1.0, 4), np.linspace(0.0, 2.0, 3))
FEASIBLE = np.array([1, 0, 1, 1,
                     1, 1, 0, 1,
                     0, 1, 1, 1], dtype=bool)
EXTENT = [-1.0 - 1 / 3, 1.0 + 1 / 3, -0.5, 2.5]  # half a grid step beyond the first and last points


def _panels(fig: Figure) -> list:
    """The axes of a figure that are not colour bars, in creation order."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _colorbars(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def _renders(fig: Figure) -> bool:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=30)
    return buf.getvalue().startswith(b"\x89PNG")


# --- plot_trajectory_samples -------------------------------------------------------------

def test_trajectory_samples_one_panel_per_parameter_coloured_by_it():
    x = np.arange(20.0).reshape(4, 5)
    params = np.array([[0.0, 1.0], [1.0, np.nan], [2.0, 3.0], [3.0, 4.0]])
    fig = pt.plot_trajectory_samples(T, x, params, ["a", "b"], n_show=3)
    panels, bars = _panels(fig), _colorbars(fig)
    assert len(panels) == 2 and [b.get_ylabel() for b in bars] == ["a", "b"]
    for ax in panels:
        lines = ax.get_lines()
        assert len(lines) == 3  # the first n_show trajectories
        for line, row in zip(lines, x):
            np.testing.assert_array_equal(line.get_xdata(), T)
            np.testing.assert_array_equal(line.get_ydata(), row)
        assert ax.get_xlabel() == "t"
    assert panels[0].get_ylabel() == "$E / E_c$" and panels[1].get_ylabel() == ""
    plasma = mpl.colormaps["plasma"]
    # panel a: values 0, 1, 2 span the colour map; panel b: a NaN value is grey, 1 and 3 the ends
    a_lines, b_lines = panels[0].get_lines(), panels[1].get_lines()
    np.testing.assert_allclose(mpl.colors.to_rgba(a_lines[0].get_color()), plasma(0.0))
    np.testing.assert_allclose(mpl.colors.to_rgba(a_lines[1].get_color()), plasma(0.5))
    np.testing.assert_allclose(mpl.colors.to_rgba(a_lines[2].get_color()), plasma(1.0))
    assert b_lines[1].get_color() == "0.6"
    np.testing.assert_allclose(mpl.colors.to_rgba(b_lines[2].get_color()), plasma(1.0))
    assert _renders(fig)


def test_trajectory_samples_without_parameters_and_bad_shapes():
    x = np.ones((2, 5))
    fig = pt.plot_trajectory_samples(T, x, np.zeros((2, 0)), [], ylabel="field")
    assert len(_panels(fig)) == 1 and _panels(fig)[0].get_ylabel() == "field"
    with pytest.raises(ValueError, match="shapes"):
        pt.plot_trajectory_samples(T, x, np.zeros((3, 1)), ["a"])  # params rows != trajectories
    with pytest.raises(ValueError, match="shapes"):
        pt.plot_trajectory_samples(T, x, np.zeros((2, 1)), ["a", "b"])  # names != params columns
    with pytest.raises(ValueError, match="shapes"):
        pt.plot_trajectory_samples(T[:4], x, np.zeros((2, 1)), ["a"])  # t != trajectory length
    with pytest.raises(ValueError, match="shapes"):
        pt.plot_trajectory_samples(T, x[0], np.zeros((1, 1)), ["a"])


# --- plot_latent_parameters --------------------------------------------------------------

def test_latent_parameters_scatter_coloured_by_each_parameter():
    z = np.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])
    params = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    fig = pt.plot_latent_parameters(z, params, ["A", "omega"])
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["A", "omega"] and len(_colorbars(fig)) == 2
    for j, ax in enumerate(panels):
        (sc,) = ax.collections
        np.testing.assert_array_equal(sc.get_offsets(), z)
        np.testing.assert_array_equal(sc.get_array(), params[:, j])
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("$z_1$", "$z_2$")
    assert _renders(fig)


@pytest.mark.parametrize("z,params", [(np.zeros((3, 3)), np.zeros((3, 1))), (np.zeros((3, 2)), np.zeros((2, 1))),
                                      (np.zeros((3, 2)), np.zeros((3, 2)))])
def test_latent_parameters_rejects_bad_shapes(z, params):
    with pytest.raises(ValueError, match="expected z"):
        pt.plot_latent_parameters(z, params, ["A"])


# --- plot_feasible_region ----------------------------------------------------------------

def test_feasible_region_map_and_sub_grid_of_decoded_trajectories():
    trajectories = np.arange(60.0).reshape(12, 5)  # row k is the decoding of grid point k
    z_train = np.array([[0.1, 0.2, 9.0], [-0.5, 1.5, 9.0]])  # only the first two columns are drawn
    fig = pt.plot_feasible_region(FEASIBLE, AXES, z_train, T, trajectories, n_sub=2)
    left, right = fig.subfigs
    (ax,) = left.axes
    (im,) = ax.get_images()
    np.testing.assert_array_equal(im.get_array(), FEASIBLE.reshape(3, 4))  # z_2 along rows, z_1 along columns
    assert im.origin == "lower"
    np.testing.assert_allclose(im.get_extent(), EXTENT)
    assert ax.get_title() == "feasible: 9 of 12 grid points (light)"
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), z_train[:, :2])
    # 2 x 2 sub-grid at z_1 indices (0, 3) and z_2 indices (0, 2); the top row shows the largest z_2
    grid = right.axes
    assert len(grid) == 4
    for a, (idx, colour) in zip(grid, [(8, "C3"), (11, "C0"), (0, "C0"), (3, "C0")]):
        (line,) = a.get_lines()
        np.testing.assert_array_equal(line.get_ydata(), trajectories[idx])
        assert line.get_color() == colour  # grid point 8 is infeasible: red
    assert _renders(fig)


def test_feasible_region_rejects_a_mask_of_the_wrong_size():
    with pytest.raises(ValueError, match=r"feasible: expected shape \(12,\)"):
        pt.plot_feasible_region(FEASIBLE[:-1], AXES, np.zeros((1, 2)), T, np.zeros((12, 5)))
    with pytest.raises(ValueError, match="feasible"):
        pt.plot_feasible_region(FEASIBLE.reshape(3, 4), AXES, np.zeros((1, 2)), T, np.zeros((12, 5)))


# --- plot_bo_surfaces --------------------------------------------------------------------

def _bo_inputs():
    k = np.arange(12.0)
    return dict(axes=AXES, gp_mean=k / 2, gp_std=0.1 + k / 100, feasible=FEASIBLE,
                z=np.array([[-1.0, 0.0], [1.0, 2.0], [0.0, 1.0]]), initial=np.array([True, True, False]),
                best_z=np.array([0.0, 1.0]), truth=k * 10, label="curl")


def test_bo_surfaces_panels_masks_and_shared_colour_scale():
    inp = _bo_inputs()
    fig = pt.plot_bo_surfaces(**inp)
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["ground truth: curl", "GP mean: curl", "GP std"]
    assert len(_colorbars(fig)) == 3
    truth_range = (float(inp["truth"][FEASIBLE].min()), float(inp["truth"][FEASIBLE].max()))  # (0, 110)
    std = inp["gp_std"][FEASIBLE]
    for ax, values, clim in zip(panels, (inp["truth"], inp["gp_mean"], inp["gp_std"]),
                                (truth_range, truth_range, (std.min(), std.max()))):
        (im,) = ax.get_images()
        shown = np.ma.filled(im.get_array().astype(float), np.nan)
        expected = np.where(FEASIBLE, values, np.nan).reshape(3, 4)  # infeasible points blank
        np.testing.assert_array_equal(shown, expected)
        np.testing.assert_allclose(im.get_clim(), clim)
        np.testing.assert_allclose(im.get_extent(), EXTENT)
        initial, bo, best = ax.collections
        np.testing.assert_array_equal(initial.get_offsets(), inp["z"][:2])
        np.testing.assert_array_equal(bo.get_offsets(), inp["z"][2:])
        np.testing.assert_array_equal(best.get_offsets(), [inp["best_z"]])
    assert [t.get_text() for t in panels[0].get_legend().get_texts()] == ["initial (random)", "BO", "best"]
    assert _renders(fig)


def test_bo_surfaces_without_ground_truth_scale_on_the_gp_mean():
    inp = {**_bo_inputs(), "truth": None}
    fig = pt.plot_bo_surfaces(**inp)
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["GP mean: curl", "GP std"]
    mean = inp["gp_mean"][FEASIBLE]
    np.testing.assert_allclose(panels[0].get_images()[0].get_clim(), (mean.min(), mean.max()))


# --- plot_bo_convergence -----------------------------------------------------------------

def test_bo_convergence_best_so_far_random_quartiles_and_truth():
    random_best = np.array([[0.0, 1.0, 1.0, 2.0], [1.0, 1.0, 3.0, 3.0], [0.0, 2.0, 2.0, 4.0]])
    runs = {"ei": {"y": np.array([1.0, 3.0, 2.0, 5.0]), "n_initial": 2, "random_best": random_best},
            "ucb": {"y": np.array([4.0, 0.0]), "n_initial": 1, "random_best": np.zeros((0, 2))}}
    fig = pt.plot_bo_convergence(runs, truth_max=6.0, label="curl")
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["ei (BO)"].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(lines["ei (BO)"].get_ydata(), [1.0, 3.0, 3.0, 5.0])  # running maximum
    np.testing.assert_array_equal(lines["ucb (BO)"].get_ydata(), [4.0, 4.0])
    np.testing.assert_array_equal(lines["random search, median of 3"].get_ydata(), [0.0, 1.0, 2.0, 3.0])
    assert not any("median" in name and "ucb" in name for name in lines)  # no random search: no median line
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]  # quartiles of the one random search
    assert band.get_paths()[0].vertices[:, 1].min() == pytest.approx(0.0)
    assert band.get_paths()[0].vertices[:, 1].max() == pytest.approx(np.percentile(random_best[:, 3], 75))
    legend = ax.get_legend_handles_labels()[1]
    assert [name for name in legend if "25-75" in name] == ["random search, 25-75 % (each run's colour)"]
    assert all(float(t).is_integer() for t in ax.get_xticks())  # whole evaluations
    vertical = sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_label().startswith("_child")
                      and np.ptp(line.get_xdata()) == 0)
    assert vertical == [1.5, 2.5]  # end of each run's random initialisation
    np.testing.assert_array_equal(lines["ground-truth max"].get_ydata(), [6.0, 6.0])
    np.testing.assert_allclose(lines["95% of max"].get_ydata(), [5.7, 5.7])
    assert ax.get_ylabel() == "best curl so far"
    assert _renders(fig)


def test_bo_convergence_without_runs_is_a_placeholder():
    fig = pt.plot_bo_convergence({})
    assert fig.axes == [] and [t.get_text() for t in fig.texts] == ["no optimization runs"]


# --- plot_best_history -------------------------------------------------------------------

def test_best_history_field_equilibration_and_polarization():
    trajectory = np.array([0.0, 1.0, -1.0, 2.0, 0.5])
    N = 3
    p = np.stack([np.arange(9.0).reshape(N, N), -np.arange(9.0).reshape(N, N)])
    curl = np.array([[0.0, -2.0, 1.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]])
    fig = pt.plot_best_history(T, trajectory, 3, p, curl, title="best of ucb", coercive=2.0)
    ax1, ax2 = _panels(fig)
    assert len(_colorbars(fig)) == 1 and fig.get_suptitle() == "best of ucb"
    decoded, held, *levels = ax1.get_lines()
    np.testing.assert_array_equal(decoded.get_xdata(), T)
    np.testing.assert_array_equal(decoded.get_ydata(), trajectory)
    np.testing.assert_allclose(held.get_xdata(), 1.0 + 0.25 * np.arange(4))  # 3 steps of dt after t[-1]
    np.testing.assert_array_equal(held.get_ydata(), np.full(4, 0.5))
    assert held.get_label() == "equilibration (3 steps)"
    assert sorted(line.get_ydata()[0] for line in levels) == [-2.0, 2.0]  # +- E_c
    (im,) = ax2.get_images()
    np.testing.assert_array_equal(im.get_array(), curl)
    assert im.get_clim() == (-2.0, 2.0)  # symmetric about 0
    (quiver,) = [c for c in ax2.collections if isinstance(c, Quiver)]
    np.testing.assert_array_equal(quiver.U, p[0].ravel())
    np.testing.assert_array_equal(quiver.V, p[1].ravel())
    assert ax2.get_title() == "final polarization and its curl"
    assert _renders(fig)


def test_best_history_zero_curl_and_no_title():
    p = np.zeros((2, 2, 2))
    fig = pt.plot_best_history(T, np.zeros(5), 0, p, np.zeros((2, 2)))
    assert fig.get_suptitle() == ""
    assert _panels(fig)[1].get_images()[0].get_clim() == (-1.0, 1.0)


@pytest.mark.parametrize("p,curl", [(np.zeros((3, 2, 2)), np.zeros((2, 2))), (np.zeros((2, 2, 2)), np.zeros((3, 3))),
                                    (np.zeros((2, 4)), np.zeros((2, 4)))])
def test_best_history_rejects_bad_shapes(p, curl):
    with pytest.raises(ValueError, match=r"p \(2, N, N\) and curl \(N, N\) expected"):
        pt.plot_best_history(T, np.zeros(5), 1, p, curl)
