"""Figures of transitions studies: layouts and input validation."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from latentopt.plots import transitions as pt
from latentopt.physics import states


def _run(m=7, L=6):
    arc = np.linspace(0, 3.0, m)
    e = np.sin(arc / 3.0 * math.pi) * 2.0
    ps = np.linspace(0, 3.0, 61)
    path = np.stack([states.skyrmion(L, 2.5, helicity=math.pi)] * (m // 2) + [states.ferromagnet(L)] * (m - m // 2))
    return dict(arc=arc, energy=e, profile_s=ps, profile_e=np.sin(ps / 3.0 * math.pi) * 2.0, barrier=2.0,
                saddle_index=3, W=np.r_[-np.ones(4), np.zeros(m - 4)], path=path)


def test_path_figures():
    runs = {"vp": _run(), "paper": _run()}
    fig = pt.plot_energy_path(runs, title="collapse")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert "2.0000 J" in fig.axes[0].get_legend().get_texts()[0].get_text()
    fig = pt.plot_path_charge(runs)
    assert len(fig.axes) == 1
    r = runs["vp"]
    fig = pt.plot_path_snapshots(r["path"], 3, r["energy"], r["W"], n_between=1)
    assert len(fig.axes) == 6  # 5 panels + colour wheel
    with pytest.raises(ValueError, match="saddle_index"):
        pt.plot_path_snapshots(r["path"], 9)
    with pytest.raises(ValueError, match="energy"):
        pt.plot_energy_path({"x": dict(r, energy=np.zeros(3))})


def test_meta_figures():
    rng = np.random.default_rng(0)
    fig = pt.plot_meta_loss(-np.linspace(0, 3, 20), -np.linspace(0, 3, 5), 5, np.ones((21, 3)))
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="steps_per_epoch"):
        pt.plot_meta_loss(np.zeros(20), np.zeros(4), 5)
    d0 = np.exp(-0.05 * np.arange(61))[:, None] * rng.uniform(0.01, 0.1, 30)
    d1 = np.exp(-2.0 * np.arange(61))[:, None] * rng.uniform(0.01, 0.1, 30)
    fig = pt.plot_convergence_bands(d0, d1, {"initial": dict(gamma=0.01, mu=1, beta=3),
                                             "learned": dict(gamma=0.2, mu=0.4, beta=5)})
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="delta_learned"):
        pt.plot_convergence_bands(d0, d1[0])


def test_methods_table():
    metrics = {"runs": {"vp": dict(barrier=2.368, iterations=343, force_evaluations=344, wall_time=4.4, converged=True,
                                   negative_modes=1, barrier_change_doubled=-6e-12, initial_path="geodesic")}}
    rows = pt.methods_table_rows(metrics)
    assert rows[1][0] == "vp" and rows[1][6] == "2.36800" and rows[1][-1] == "1"
    assert isinstance(pt.plot_methods_table(metrics), Figure)
    with pytest.raises(ValueError, match="no runs"):
        pt.plot_methods_table({"runs": {}})
