"""Figures, one module per study kind, plus the helpers they share.

- :mod:`latentopt.plots.common` -- the spin colour scheme (hue = in-plane angle,
  lightness = s_z), image grids, training curves, :func:`placeholder`, :func:`save_figure`;
- :mod:`latentopt.plots.spins` -- spin studies (Park et al. 2022);
- :mod:`latentopt.plots.trajectories` -- trajectory studies (FerroSIM, latent BO).

The shared helpers are importable from the package itself.
"""

from latentopt.plots.common import (color_wheel_legend, placeholder, plot_spin_grid, plot_training_curves,
                                    save_figure, spin_to_rgb)

__all__ = ["color_wheel_legend", "placeholder", "plot_spin_grid", "plot_training_curves", "save_figure",
           "spin_to_rgb"]
