"""Bayesian optimization over a finite set of feasible latent codes (zBO; Biswas et al. 2023, Table 1).

One module per concept:

- :mod:`.gp`: the GP surrogate (:func:`make_gp`, :func:`unit_box`), its posterior over the
  candidates (:func:`gp_posterior`) and the incremental Cholesky update kept between refits;
- :mod:`.acquisitions`: EI, PI and UCB (:func:`acquisition`) and the early-stop gain;
- :mod:`.bo`: the sequential loop (:func:`bayesian_optimization`) and its random initial
  design (:func:`initial_indices`);
- :mod:`.batch`: batch proposals for BO rounds run as separate jobs (:func:`propose_batch`,
  :func:`round_sizes`);
- :mod:`.baselines`: random search (:func:`random_search`, :func:`random_pool`,
  :func:`random_search_pool`);
- :mod:`.rounds`: those rounds over the feasible points of a decoded latent grid
  (:func:`propose_round`, :func:`random_pool_indices`, :func:`gather_run`, :func:`gp_surface`).

The objective is maximized throughout.
"""

from .acquisitions import ACQUISITIONS, acquisition, early_stop_gain
from .baselines import random_pool, random_search, random_search_indices, random_search_pool
from .batch import BATCH_STRATEGIES, LIARS, BatchProposal, propose_batch, round_sizes
from .bo import BOResult, Evaluate, bayesian_optimization, initial_indices
from .gp import fitted_theta, gp_posterior, make_gp, unit_box
from .rounds import feasible_candidates, gather_run, gp_surface, propose_round, random_pool_indices

__all__ = ["ACQUISITIONS", "BATCH_STRATEGIES", "LIARS", "BOResult", "BatchProposal", "Evaluate", "acquisition",
           "bayesian_optimization", "early_stop_gain", "feasible_candidates", "fitted_theta", "gather_run",
           "gp_posterior", "gp_surface", "initial_indices", "make_gp", "propose_batch", "propose_round",
           "random_pool", "random_pool_indices", "random_search", "random_search_indices", "random_search_pool",
           "round_sizes", "unit_box"]
