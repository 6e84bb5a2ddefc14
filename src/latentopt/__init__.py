"""latentopt: optimal physical states from the latent space of generative models.

Modules, one concept each:

- :mod:`latentopt.physics.hamiltonian` -- the chiral-magnet energy, energy density and
  effective field (numba), the single source of physics conventions.
- :mod:`latentopt.physics.torch_physics` -- the same, batched and differentiable (torch).
- :mod:`latentopt.physics.observables` -- topological charge W, M_z, C(a), C_BC.
- :mod:`latentopt.physics.heatbath` -- heat-bath simulated annealing (numba).
- :mod:`latentopt.models.vae` / :mod:`latentopt.trainers.vae` -- the spin VAE and its training loop.
- :mod:`latentopt.optimizers` -- latent-space optimizers (single-code, genetic, stochastic).
- :mod:`latentopt.metrics`, :mod:`latentopt.plots`, :mod:`latentopt.io`, :mod:`latentopt.config`.
"""

__version__ = "0.1.0"
