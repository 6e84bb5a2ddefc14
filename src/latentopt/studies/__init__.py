"""Study kinds: one module per kind holding its steps, and the registry the workflow asks.

Every study in the config has a ``kind``. The kind decides which config keys the study
takes (``workflow/schemas/kinds/<kind>.schema.yaml``), which rules build it
(``workflow/rules/<kind>.smk``, rules ``<kind>_<step>``, scripts in ``workflow/scripts/<kind>/``),
where its files go (:attr:`Kind.root`), which library module computes each rule's output
(``latentopt.studies.<kind>``, one function per rule), what the workflow asks of it without
torch (``latentopt.studies.hooks.<kind>``: config check, resource estimates, rule inputs) and
which figures it draws (``latentopt.plots.<kind>``). Library layers (``physics``, ``models``,
``trainers``, ``optimizers``, ``io``, ...) are shared by all kinds; no study module imports
another kind's. Each kind's :class:`Kind` record is its one plug-in point
(``docs/developing.md``, "Study kinds are plug-ins").

This module is deliberately light (no torch, numba or matplotlib): the Snakefile imports
it on every invocation to get each study's final targets and its kind's hooks.

=============  ============================  ==================================================
kind           paper                         pipeline
=============  ============================  ==================================================
spins          Park et al. 2022              simulate -> VAE -> generate/modify -> optimize -> evaluate
trajectories   Kalinin lecture; Biswas 2023  field histories -> trajectory VAE -> decoded feasible
                                             grid -> GP Bayesian optimization of a FerroSIM objective
schedules      Biswas et al. 2023            beta_c(i) families -> trajectory VAE -> decoded feasible grid
                                             -> BO rounds, one jrVAE training per evaluation -> final models
transitions    Bushuev & Lobanov 2020        relaxed end states -> initial path -> GNEB with climbing image ->
                                             saddle check; meta-learned NEB on the single-spin benchmark
upscaling      Mills et al. 2019             thermal states at L -> energy-conditioned periodic WGAN ->
                                             generated states at 1x, 2x, 4x L, judged by exact energies
=============  ============================  ==================================================
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KINDS", "Kind", "ReportItem", "final_targets", "infer_kind", "kind_of", "names_regex", "register_kind",
           "resolve", "studies_of_kind"]


def resolve(dotted: str):
    """The object a hook names, ``"package.module:attribute"``, importing its module on first use.

    Raises
    ------
    ImportError, AttributeError
        If the module or the attribute does not exist.
    """
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class ReportItem:
    """One figure of a kind in the report: a file under the study's ``figures/`` and how the report shows it.

    Attributes
    ----------
    name : str
        The output's name in its rule (``output: <name>=...``), which is also the key of the
        figure in the dict the study module returns.
    subcategory : str
        The report's subcategory (a leading number orders them; ``0 metrics`` is the metrics table's).
    label : str
        The figure's label in the report; may use the rule's wildcards (``{run}``).
    file : str
        The file stem under ``figures/`` (default: ``name``); a per-run figure's holds the run wildcard.
    caption : str
        The caption's file stem in ``workflow/report/<kind>/`` (default: ``name``).
    """

    name: str
    subcategory: str
    label: str
    file: str = ""
    caption: str = ""

    @property
    def stem(self) -> str:
        """The file stem under ``figures/``."""
        return self.file or self.name

    @property
    def caption_stem(self) -> str:
        """The caption's file stem."""
        return self.caption or self.name


@dataclass(frozen=True)
class Kind:
    """What the workflow needs to know about a study kind: its one plug-in point.

    The shared code (the config validation, the Snakefile's ``common.smk``, the report) asks the
    record, never the kind's name; the hooks are named ``"package.module:function"`` and imported
    only when called, so that this module stays light (``docs/developing.md``, "Adding a study kind").

    Attributes
    ----------
    name : str
        The value of a study's ``kind:`` key; also the name of its study module
        (``latentopt.studies.<name>``), hooks module (``latentopt.studies.hooks.<name>``),
        figure module (``latentopt.plots.<name>``), rule file (``workflow/rules/<name>.smk``,
        rules named ``<name>_<step>``) and schema (``workflow/schemas/kinds/<name>.schema.yaml``).
    paper : str
        The source this kind implements.
    pipeline : str
        One line: the rules from inputs to the report.
    root : str
        The folder of a study's files, with a ``{study}`` placeholder: ``results/<kind>/{study}``,
        except the spin studies', which kept ``results/{study}`` (no study may be named like a kind,
        so no two kinds' files can have the same path).
    config_check : str
        Hook ``check(prefix, study, root, studies)``: the checks a schema cannot express, raising
        :class:`latentopt.config.ConfigError` with the key path; may fill in derived defaults.
    estimates : str
        Hook: a mapping from each step to its resource estimator ``estimator(study, run, *, threads, gpu)``,
        which gives ``{"mem_mb", "runtime"}`` of a job of rule ``<name>_<step>`` (:meth:`estimate`;
        :mod:`latentopt.cluster` holds the shared resource model).
    metrics_table : str
        Hook ``metrics_table(metrics, study)``: the blocks of the report's metrics table
        (:mod:`latentopt.tables`).
    models : tuple of str
        ``system.model`` values from which the kind is inferred when a study does not
        write ``kind:`` (only the kinds that existed before ``kind:`` did need this).
    figures : tuple of ReportItem
        Figures drawn once per study (by rule ``<name>_evaluate``): ``<root>/figures/<file>.png``.
    run_block : str
        The study key holding the study's named runs (one output file per run): a mapping
        (its keys are the runs) or, as a dotted path, a list (its items are the runs, e.g.
        ``evaluate.scales`` of an upscaling study).
    run_figures : tuple of ReportItem
        Figures drawn per run (by rule ``<name>_plot``): ``<root>/figures/<file>.png`` with the
        run wildcard replaced by the run's name.
    run_wildcard : str
        The name of the run wildcard in the kind's rules and ``run_figures`` (``run``, or
        ``scale`` for the scales of an upscaling study).
    targets_hook : str
        Optional ``"package.module:function"``, ``fn(kind, name, study, default) -> list``: a study's
        final files when they differ from the default list (a spin study with ``sweep:``).
    """

    name: str
    paper: str
    pipeline: str
    root: str = ""
    config_check: str = ""
    estimates: str = ""
    metrics_table: str = ""
    models: tuple[str, ...] = ()
    figures: tuple[ReportItem, ...] = ()
    run_block: str = "optimize"
    run_figures: tuple[ReportItem, ...] = field(default_factory=tuple)
    run_wildcard: str = "run"
    targets_hook: str = ""

    @property
    def module(self) -> str:
        """Dotted name of the kind's study module."""
        return f"latentopt.studies.{self.name}"

    def _run_block(self, study: Mapping) -> object:
        block: object = study
        for key in self.run_block.split("."):
            block = block.get(key) if isinstance(block, Mapping) else None
        return block

    def runs(self, study: Mapping) -> list[str]:
        """Names of the runs of ``study`` (the keys of its ``run_block``), in config order."""
        block = self._run_block(study)
        if isinstance(block, (list, tuple)):
            return [str(item) for item in block]
        return list(block or {})

    def run_settings(self, study: Mapping, run: str) -> Mapping:
        """The settings of run ``run`` of ``study`` (its entry in the ``run_block`` mapping).

        Raises
        ------
        KeyError
            If the study has no such run, or its runs are a list (no settings of their own).
        """
        block = self._run_block(study)
        if not isinstance(block, Mapping):
            raise KeyError(f"the runs of a {self.name} study ({self.run_block}) have no settings of their own")
        return block[run]

    def path(self, name: str, *parts: str) -> str:
        """The path of ``parts`` under the folder of study ``name`` (relative to the working directory)."""
        return "/".join([self.root.format(study=name), *parts])

    def targets(self, name: str, study: Mapping) -> list[str]:
        """The final files of study ``name``: ``metrics.json``, the study figures, the per-run figures.

        Paths are relative to the working directory (``<root>/...``).
        """
        out = [self.path(name, "metrics.json")]
        out += [self.path(name, "figures", f"{f.stem}.png") for f in self.figures]
        out += [self.path(name, "figures", f"{f.stem.format(**{self.run_wildcard: run})}.png")
                for run in self.runs(study) for f in self.run_figures]
        return resolve(self.targets_hook)(self, name, study, out) if self.targets_hook else out

    def check(self, prefix: str, study: dict, root: str | Path, studies: Mapping[str, Mapping]) -> None:
        """Run the kind's config check on ``study`` (the config key ``prefix``), validated by the schema."""
        resolve(self.config_check)(prefix, study, Path(root), studies)

    def estimate(self, step: str, study: Mapping, run: Mapping | None = None, *, threads: int = 1,
                 gpu: bool = False) -> dict[str, int]:
        """``{"mem_mb": int, "runtime": int}`` (MB, minutes) of one job of rule ``<name>_<step>``.

        ``run`` is the run's settings for a rule with a run wildcard, ``threads`` the job's
        threads and ``gpu`` whether the job asks for a GPU.
        """
        return resolve(self.estimates)[step](study, run, threads=threads, gpu=gpu)

    def metrics_html(self, metrics: Mapping, study: str) -> str:
        """The report's metrics table of ``metrics`` (``metrics.json``), a self-contained HTML page."""
        from latentopt.tables import html_page

        return html_page(resolve(self.metrics_table)(metrics, study))


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


_R = ReportItem  # short, for the records below

register_kind(Kind(
    name="spins",
    paper="Park et al., Sci. Rep. 12, 9278 (2022)",
    pipeline="simulate (heat bath) -> VAE -> generate/modify -> optimize (genetic, stochastic, single-code) -> "
             "evaluate",
    root="results/{study}",
    config_check="latentopt.studies.hooks.spins:check",
    estimates="latentopt.studies.hooks.spins:ESTIMATES",
    metrics_table="latentopt.studies.spins:metrics_table",
    models=("chiral_magnet",),
    figures=(_R("dataset_samples", "1 dataset and VAE", "X_IN samples"),
             _R("vae_samples", "1 dataset and VAE", "X_VAE samples"),
             _R("relaxed_samples", "1 dataset and VAE", "X'_VAE samples"),
             _R("energy_histograms", "1 dataset and VAE", "energy-density histograms"),
             _R("energy_density_maps", "1 dataset and VAE", "energy-density maps"),
             _R("training_curves", "1 dataset and VAE", "training curves"),
             _R("optimizer_traces", "2 optimization", "optimizer traces"),
             _R("w_vs_mz", "2 optimization", "W vs M_z"),
             _R("baseline_comparison", "2 optimization", "latent vs direct search")),
    run_block="optimize",
    run_figures=(_R("best", "2 optimization", "best states: {run}", file="optimize/{run}", caption="run"),),
    targets_hook="latentopt.studies.hooks.spins:targets",
))

register_kind(Kind(
    name="trajectories",
    paper="Kalinin, VAE lecture (FerroSIM, BO in the latent space); Biswas et al. 2023 (zBO)",
    pipeline="field histories -> trajectory VAE -> decoded feasible grid -> GP Bayesian optimization of a FerroSIM "
             "objective (+ ground truth, random search) -> evaluate",
    root="results/trajectories/{study}",
    config_check="latentopt.studies.hooks.trajectories:check",
    estimates="latentopt.studies.hooks.trajectories:ESTIMATES",
    metrics_table="latentopt.studies.trajectories:metrics_table",
    models=("ferrosim",),
    figures=(_R("trajectory_samples", "1 trajectories and VAE", "training trajectories"),
             _R("training_curves", "1 trajectories and VAE", "training curves"),
             _R("latent_parameters", "1 trajectories and VAE", "latent space by family parameter"),
             _R("feasible_region", "1 trajectories and VAE", "feasible region"),
             _R("bo_convergence", "2 Bayesian optimization", "BO vs random search")),
    run_block="optimize",
    run_figures=(_R("surfaces", "2 Bayesian optimization", "surfaces: {run}", file="bo/{run}_surfaces",
                    caption="bo_surfaces"),
                 _R("best", "2 Bayesian optimization", "best field history: {run}", file="bo/{run}_best",
                    caption="bo_best")),
))

register_kind(Kind(
    name="schedules",
    paper="Biswas et al., Mach. Learn.: Sci. Technol. 2023 (zBO of a jrVAE's KL-weight trajectory)",
    pipeline="images -> beta_c(i) families -> trajectory VAE -> decoded feasible grid -> BO rounds of q points, "
             "one jrVAE training per evaluation (SSIM manifold objective) -> final models -> evaluate",
    root="results/schedules/{study}",
    config_check="latentopt.studies.hooks.schedules:check",
    estimates="latentopt.studies.hooks.schedules:ESTIMATES",
    metrics_table="latentopt.studies.schedules:metrics_table",
    figures=(_R("image_dataset", "1 images and schedules", "image data set"),
             _R("schedule_families", "1 images and schedules", "training beta_c trajectories"),
             _R("schedule_latent", "1 images and schedules", "latent space and feasible region"),
             _R("training_curves", "1 images and schedules", "trajectory VAE training"),
             _R("bo_convergence", "2 Bayesian optimization", "zBO vs random search"),
             _R("model_manifolds", "3 final models", "learned manifolds of the four models")),
    run_block="optimize",
    run_figures=(_R("surfaces", "2 Bayesian optimization", "GP surfaces: {run}", file="bo/{run}_surfaces",
                    caption="bo_surfaces"),
                 _R("best", "2 Bayesian optimization", "best beta_c trajectory: {run}", file="bo/{run}_best",
                    caption="bo_best")),
))

register_kind(Kind(
    name="transitions",
    paper="Bushuev & Lobanov, Nanosystems 11, 642 (2020) (meta-learned NEB); Bessarab et al. 2015 (GNEB)",
    pipeline="relaxed end states -> initial path (geodesic or latent) -> GNEB with climbing image per run -> "
             "saddle check (Hessian), doubled images; meta-learned (gamma, mu, beta) -> evaluate",
    root="results/transitions/{study}",
    config_check="latentopt.studies.hooks.transitions:check",
    estimates="latentopt.studies.hooks.transitions:ESTIMATES",
    metrics_table="latentopt.studies.transitions:metrics_table",
    figures=(_R("energy_paths", "1 minimum energy path", "energy along the path"),
             _R("path_snapshots", "1 minimum energy path", "end states and saddle"),
             _R("path_charge", "1 minimum energy path", "W along the path"),
             _R("methods_table", "2 methods", "methods"),
             _R("meta_loss", "3 meta-learned NEB", "meta-learning loss"),
             _R("meta_convergence", "3 meta-learned NEB", "convergence before and after")),
    run_block="runs",
))

register_kind(Kind(
    name="upscaling",
    paper="Mills, Casert & Tamblyn, NeurIPS 2019 ML4PS workshop (RUGAN)",
    pipeline="thermal states at L (sharded heat bath over a temperature grid) -> energy-conditioned periodic "
             "WGAN-GP + CT -> generated states at each scale (exact energies, seam check) -> heat-bath states at "
             "the largest scale (energies, structure factor, states per second) -> evaluate",
    root="results/upscaling/{study}",
    config_check="latentopt.studies.hooks.upscaling:check",
    estimates="latentopt.studies.hooks.upscaling:ESTIMATES",
    metrics_table="latentopt.studies.upscaling:metrics_table",
    figures=(_R("train_samples", "1 states", "training states"),
             _R("seams", "3 periodicity", "seam check"),
             _R("structure_factor", "4 heat bath at the largest size", "structure factor"),
             _R("heatbath_comparison", "4 heat bath at the largest size", "energies per temperature"),
             _R("gan_training", "5 training", "training curves")),
    run_block="evaluate.scales",
    run_figures=(_R("samples", "1 states", "generated at {scale}x", file="generated_x{scale}", caption="generated"),
                 _R("fidelity", "2 requested vs realized energy", "{scale}x", file="fidelity_x{scale}",
                    caption="fidelity")),
    run_wildcard="scale",
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
