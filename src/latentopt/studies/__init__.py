"""Study kinds: one module per kind holding its steps, and the registry the workflow asks.

Every study in the config has a ``kind``. The kind decides which config keys the study
takes (``workflow/schemas/kinds/<kind>.schema.yaml``), which rules build it
(``workflow/rules/<kind>.smk``, scripts in ``workflow/scripts/<kind>/``), which library
module computes each rule's output (``latentopt.studies.<kind>``, one function per rule)
and which figures it draws (``latentopt.plots.<kind>``). Library layers
(``physics``, ``models``, ``trainers``, ``optimizers``, ``io``, ...) are shared by all
kinds; no study module imports another kind's.

This module is deliberately light (no torch, numba or matplotlib): the Snakefile imports
it on every invocation to get each study's final targets and the study names of a kind.

=============  ============================  ==================================================
kind           paper                         pipeline
=============  ============================  ==================================================
spins          Park et al. 2022              simulate -> VAE -> generate/relax -> optimize -> evaluate
trajectories   Kalinin lecture; Biswas 2023  field histories -> trajectory VAE -> decoded feasible
                                             grid -> GP Bayesian optimization of a FerroSIM objective
schedules      Biswas et al. 2023            beta_c(i) families -> trajectory VAE -> decoded feasible grid
                                             -> BO rounds, one jrVAE training per evaluation -> final models
transitions    Bushuev & Lobanov 2020        relaxed end states -> initial path -> GNEB with climbing image ->
                                             saddle check; meta-learned NEB on the single-spin benchmark
=============  ============================  ==================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["KINDS", "Kind", "final_targets", "infer_kind", "kind_of", "names_regex", "register_kind",
           "studies_of_kind"]


@dataclass(frozen=True)
class Kind:
    """What the workflow needs to know about a study kind.

    Attributes
    ----------
    name : str
        The value of a study's ``kind:`` key; also the name of its study module
        (``latentopt.studies.<name>``), figure module (``latentopt.plots.<name>``), rule file
        (``workflow/rules/<name>.smk``) and schema (``workflow/schemas/kinds/<name>.schema.yaml``).
    paper : str
        The source this kind implements.
    pipeline : str
        One line: the rules from inputs to the report.
    models : tuple of str
        ``system.model`` values from which the kind is inferred when a study does not
        write ``kind:`` (only the kinds that existed before ``kind:`` did need this).
    figures : tuple of str
        Figures drawn once per study: ``results/<study>/figures/<name>.png``.
    run_block : str
        The study key holding the study's named runs (one output file per run).
    run_figures : tuple of str
        Figures drawn per run: ``results/<study>/figures/<pattern>.png`` with ``{run}``
        replaced by the run's name.
    """

    name: str
    paper: str
    pipeline: str
    models: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    run_block: str = "optimize"
    run_figures: tuple[str, ...] = field(default_factory=tuple)

    @property
    def module(self) -> str:
        """Dotted name of the kind's study module."""
        return f"latentopt.studies.{self.name}"

    def runs(self, study: Mapping) -> list[str]:
        """Names of the runs of ``study`` (the keys of its ``run_block``), in config order."""
        return list(study.get(self.run_block) or {})

    def targets(self, name: str, study: Mapping) -> list[str]:
        """The final files of study ``name``: ``metrics.json``, the study figures, the per-run figures.

        Paths are relative to the working directory (``results/<name>/...``).
        """
        root = f"results/{name}"
        out = [f"{root}/metrics.json"]
        out += [f"{root}/figures/{f}.png" for f in self.figures]
        out += [f"{root}/figures/{pattern.format(run=run)}.png" for run in self.runs(study)
                for pattern in self.run_figures]
        return out


#: The registered kinds, by name.
KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    """Add ``kind`` to :data:`KINDS` and return it.

    Raises
    ------
    ValueError
        If a kind of that name is registered, or another kind claims one of its ``models``.
    """
    if kind.name in KINDS:
        raise ValueError(f"study kind {kind.name!r} is already registered")
    taken = {m: k.name for k in KINDS.values() for m in k.models}
    clash = sorted(m for m in kind.models if m in taken)
    if clash:
        raise ValueError(f"study kind {kind.name!r}: system.model {clash} already implies kind {taken[clash[0]]!r}")
    KINDS[kind.name] = kind
    return kind


register_kind(Kind(
    name="spins",
    paper="Park et al., Sci. Rep. 12, 9278 (2022)",
    pipeline="simulate (heat bath) -> VAE -> generate/relax -> optimize (genetic, stochastic, single-code) -> evaluate",
    models=("chiral_magnet",),
    figures=("dataset_samples", "vae_samples", "relaxed_samples", "energy_histograms", "energy_density_maps",
             "training_curves", "optimizer_traces", "w_vs_mz"),
    run_block="optimize",
    run_figures=("optimize/{run}",),
))

register_kind(Kind(
    name="trajectories",
    paper="Kalinin, VAE lecture (FerroSIM, BO in the latent space); Biswas et al. 2023 (zBO)",
    pipeline="field histories -> trajectory VAE -> decoded feasible grid -> GP Bayesian optimization of a FerroSIM "
             "objective (+ ground truth, random search) -> evaluate",
    models=("ferrosim",),
    figures=("trajectory_samples", "training_curves", "latent_parameters", "feasible_region", "bo_convergence"),
    run_block="optimize",
    run_figures=("bo/{run}_surfaces", "bo/{run}_best"),
))

register_kind(Kind(
    name="schedules",
    paper="Biswas et al., Mach. Learn.: Sci. Technol. 2023 (zBO of a jrVAE's KL-weight trajectory)",
    pipeline="images -> beta_c(i) families -> trajectory VAE -> decoded feasible grid -> BO rounds of q points, "
             "one jrVAE training per evaluation (SSIM manifold objective) -> final models -> evaluate",
    figures=("image_dataset", "schedule_families", "schedule_latent", "training_curves", "bo_convergence",
             "model_manifolds"),
    run_block="optimize",
    run_figures=("bo/{run}_surfaces", "bo/{run}_best"),
))

register_kind(Kind(
    name="transitions",
    paper="Bushuev & Lobanov, Nanosystems 11, 642 (2020) (meta-learned NEB); Bessarab et al. 2015 (GNEB)",
    pipeline="relaxed end states -> initial path (geodesic or latent) -> GNEB with climbing image per run -> "
             "saddle check (Hessian), doubled images; meta-learned (gamma, mu, beta) -> evaluate",
    figures=("energy_paths", "path_snapshots", "path_charge", "methods_table", "meta_loss", "meta_convergence"),
    run_block="runs",
))

#: the kind of a study that names neither ``kind`` nor ``system.model``
DEFAULT_KIND = "spins"


def infer_kind(study: Mapping) -> str:
    """The kind of a study: its ``kind:`` key, else the kind implied by ``system.model``, else ``spins``.

    The name is not checked against :data:`KINDS` here (the config schema does that, naming
    the key); an unknown ``system.model`` also falls back to ``spins``, whose schema then
    names ``system.model`` as the problem.
    """
    if not isinstance(study, Mapping):
        return DEFAULT_KIND
    if "kind" in study:
        return study["kind"]
    system = study.get("system")
    model = system.get("model") if isinstance(system, Mapping) else None
    for kind in KINDS.values():
        if model in kind.models:
            return kind.name
    return DEFAULT_KIND


def kind_of(study: Mapping) -> Kind:
    """The registered :class:`Kind` of a validated study.

    Raises
    ------
    KeyError
        If the study's kind is not registered.
    """
    name = infer_kind(study)
    if name not in KINDS:
        raise KeyError(f"unknown study kind {name!r}; registered: {sorted(KINDS)}")
    return KINDS[name]


def studies_of_kind(studies: Mapping[str, Mapping], kind: str) -> list[str]:
    """Names of the studies of ``kind``, in config order."""
    return [name for name, study in studies.items() if infer_kind(study) == kind]


def names_regex(names: Iterable[str]) -> str:
    """A regular expression matching exactly one of ``names`` (a ``{study}`` wildcard constraint).

    Matches nothing when ``names`` is empty, so a kind without studies contributes no jobs.
    """
    names = list(names)
    return "|".join(map(re.escape, names)) if names else "(?!)"


def final_targets(studies: Mapping[str, Mapping]) -> list[str]:
    """The final files of every study (:meth:`Kind.targets`), in config order: what ``snakemake`` builds by default."""
    return [path for name, study in studies.items() for path in kind_of(study).targets(name, study)]
