"""Latent-space optimizers (Park et al. 2022): single-code modification, genetic, stochastic.

:func:`run` dispatches a run's ``algorithm`` setting to the implementation. The subpackage
:mod:`latentopt.optimizers.bayes` (Gaussian-process BO) and the NEB modules live here too.
Names are loaded on first use (``lazy_loader``, as scikit-image does), so that a job that
only needs the Gaussian process, e.g. a BO round, does not import torch. The algorithms
themselves are imported from their modules (``from latentopt.optimizers.genetic import
genetic``): the package attribute ``genetic`` is the submodule.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "common": ["OptimizationResult"],
        "dispatch": ["ALGORITHMS", "run"],
        "objectives": ["OBJECTIVES", "Objective", "make_objective"],
    },
)
