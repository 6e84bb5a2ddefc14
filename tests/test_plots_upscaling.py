"""Figures of the upscaling studies (latentopt.plots_upscaling): they draw what they are given and reject bad input."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from latentopt.physics.states import random_states, spiral
from latentopt.physics.structure_factor import radial_profile, structure_factor
from latentopt.plots_upscaling import (plot_gan_training, plot_heatbath_comparison, plot_requested_vs_realized,
                                       plot_samples, plot_seam_check, plot_structure_factor)

M = {"ks": 0.05, "p_value": 0.2, "pearson_r": 0.95, "mae": 0.03, "paper_ks": 0.02, "paper_p_value": 0.19,
     "seam_ks": 0.01, "seam_excess": 0.001, "seam_excess_se": 0.002}


def test_figures_draw():
    rng = np.random.default_rng(0)
    s = random_states(4, 8, rng)
    fig = plot_samples(s, [-1.0, -1.1, -1.2, -1.3], requested=[-1.0, -1.0, -1.2, -1.3])
    assert isinstance(fig, Figure) and fig.axes[0].get_title().startswith("req -1.000")
    req = rng.uniform(-2, -0.5, 300)
    fig = plot_requested_vs_realized(req, req + rng.normal(0, 0.02, 300), M, "1x")
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert "KS = 0.050" in titles and "paper: 0.02" in titles and "r = 0.950" in titles
    q, prof = radial_profile(structure_factor(spiral(16, 2), average=False))
    assert isinstance(plot_structure_factor({"a": (q, prof)}, {"a": 0.78}, q_star=0.29), Figure)
    fig = plot_seam_check({"1x": s, "2x": random_states(3, 16, rng)}, {"L": 8}, {"1x": M, "2x": M})
    assert "KS = 0.010" in fig.axes[0].get_title()
    h = {k: [0.5, 0.4, 0.3] for k in ("critic_loss", "wasserstein", "gp", "ct", "generator_loss", "energy_mae",
                                      "energy_r", "energy_loss")}
    assert isinstance(plot_gan_training(h), Figure)
    rows = [{"T": T, "energy_generated": -T, "energy_generated_std": 0.01, "peak_q_generated": 0.3,
             "energy_heatbath": -T, "energy_heatbath_std": 0.01, "peak_q_heatbath": 0.3} for T in (0.1, 0.5)]
    assert isinstance(plot_heatbath_comparison(rows, "64 x 64"), Figure)


def test_figures_reject_bad_input():
    with pytest.raises(ValueError, match="realized"):
        plot_requested_vs_realized([1.0, 2.0], [1.0], M, "1x")
    with pytest.raises(ValueError, match="history"):
        plot_gan_training({"wasserstein": [1.0]})
    with pytest.raises(ValueError, match="profiles"):
        plot_structure_factor({})
    with pytest.raises(ValueError, match="requested"):
        plot_samples(random_states(2, 4, np.random.default_rng(0)), [1.0, 2.0], requested=[1.0])
    with pytest.raises(ValueError, match="per_T"):
        plot_heatbath_comparison([], "x")
