"""latentopt: optimal physical states from the latent space of generative models.

Study kinds (:mod:`latentopt.studies`, one module each, one function per workflow rule;
their figures in :mod:`latentopt.plots`, one module each):

- :mod:`latentopt.studies.spins` -- chiral magnets, a conv VAE, latent optimizers (Park et al. 2022);
- :mod:`latentopt.studies.trajectories` -- FerroSIM field histories, latent Bayesian optimization
  (Kalinin's lecture; Biswas et al. 2023).

Shared layers, one concept per module:

- :mod:`latentopt.physics.hamiltonian` -- the chiral-magnet energy, energy density and
  effective field (numba), the single source of physics conventions.
- :mod:`latentopt.physics.torch_physics` -- the same, batched and differentiable (torch).
- :mod:`latentopt.physics.observables` -- topological charge W, M_z, C(a), C_BC.
- :mod:`latentopt.physics.heatbath` -- heat-bath simulated annealing (numba).
- :mod:`latentopt.physics.ferrosim` -- FerroSIM, the ferroelectric lattice.
- :mod:`latentopt.models` / :mod:`latentopt.trainers` -- the models and their training loops.
- :mod:`latentopt.optimizers` -- latent-space optimizers (single-code, genetic, stochastic, Bayesian).
- :mod:`latentopt.families` -- trajectory families; :mod:`latentopt.latent` -- decoders, prior
  codes, the decoded feasible latent grid.
- :mod:`latentopt.dataset`, :mod:`latentopt.metrics`, :mod:`latentopt.io`, :mod:`latentopt.config`,
  :mod:`latentopt.cluster` (Slurm resource estimates).
"""

__version__ = "0.1.0"
