"""Hooks of the KL-schedule studies (``kind: schedules``, Biswas et al. 2023): config check, resources, rule inputs.

Light (numpy only) at import, like every hooks module (:mod:`latentopt.studies.hooks`); the round
sizes of a BO run come from the study module (:func:`latentopt.studies.schedules.round_sizes_of`),
imported when first asked.

The DAG of a BO run is static: round r has ``n_initial`` (r = 0) or ``q`` slots, each slot one
job (rule ``schedules_score``) whose file is ``bo/<run>/r<r>/e<slot>.h5``; raising ``iterations``
adds rounds and leaves the files of the earlier ones (and their params) untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latentopt import cluster
from latentopt.config import ConfigError, check_families, check_training_split
from latentopt.studies import KINDS

KIND = KINDS["schedules"]


# ------------------------------------------------------------------ config check
def check(prefix: str, study: dict[str, Any], root: Path, studies: Mapping) -> None:
    """One beta_c value per jrVAE epoch, valid families whose trajectories lie within the latent bounds, a
    training split that leaves data, image settings of the chosen data set, a batch that fits the BO subset,
    a grid of at most 1,000,000 points and, per BO run, full rounds and a budget the grid (and the random
    pool) can hold.

    Raises
    ------
    ConfigError
        Naming the key.
    """
    from latentopt.families import sample_training_set

    traj, jrvae, latent, data = study["trajectories"], study["jrvae"], study["latent"], study["data"]
    N = jrvae["epochs"]
    if traj.setdefault("steps", N) != N:
        raise ConfigError(f"{prefix}.trajectories.steps: beta_c(i) has one value per jrVAE epoch, so N = "
                          f"{traj['steps']} must equal jrvae.epochs = {N}")
    check_families(prefix, traj["families"])
    lo, hi = latent["constraints"]["min"], latent["constraints"]["max"]
    if not lo < hi:
        raise ConfigError(f"{prefix}.latent.constraints: the bounds of beta_c are reversed (min {lo} >= max {hi})")
    x = sample_training_set(traj["families"], traj["n"], N, traj["seed"])["trajectories"]
    if x.min() < lo or x.max() > hi:
        raise ConfigError(f"{prefix}.trajectories.families: the training trajectories span [{x.min():.4g}, "
                          f"{x.max():.4g}], outside the bounds latent.constraints [{lo}, {hi}]; narrow the families' "
                          "ranges or widen the bounds")
    check_training_split(prefix, traj["n"], "trajectories.n", study["vae"], "trajectories")
    name = data["name"]
    other = {"digits": ("counts", "n_per_count", "radius", "spread", "shape", "noise"),
             "particles": ("classes", "fill", "copies")}[name]
    wrong = sorted(k for k in other if k in data)
    if wrong:
        raise ConfigError(f"{prefix}.data.{wrong[0]}: not a setting of the {name!r} images")
    if data["train_subset"] is not None and jrvae["batch_size"] > data["train_subset"]:
        raise ConfigError(f"{prefix}.jrvae.batch_size: {jrvae['batch_size']} is larger than data.train_subset = "
                          f"{data['train_subset']} images; expected at most {data['train_subset']}")
    n_points = latent["grid"] ** study["vae"]["latent_dim"]
    if n_points > 1_000_000:
        raise ConfigError(f"{prefix}.latent.grid: {latent['grid']}^{study['vae']['latent_dim']} = {n_points} "
                          "points; expected at most 1,000,000")
    if not study["optimize"]:
        raise ConfigError(f"{prefix}.optimize: a schedules study needs at least one BO run")
    for run_name, run in study["optimize"].items():
        key = f"{prefix}.optimize.{run_name}"
        if run["iterations"] % run["q"]:
            raise ConfigError(f"{key}.iterations: {run['iterations']} is not a multiple of q = {run['q']}; rounds "
                              "must be full so that raising iterations only adds rounds")
        budget = run["n_initial"] + run["iterations"]
        if budget > n_points:
            raise ConfigError(f"{key}.iterations: {budget} evaluations (n_initial + iterations) for a grid of "
                              f"{n_points} points")
        if run["random_pool"] is not None and run["random_pool"] < budget:
            raise ConfigError(f"{key}.random_pool: {run['random_pool']} random points for a budget of {budget} "
                              "(n_initial + iterations); expected at least the budget")


# ------------------------------------------------------------------ resources (latentopt.cluster's model)
#: seconds per image and epoch of jrVAE training on one CPU thread at 24 x 24 pixels: image decoder (measured
#: ~3e-4) and coordinate decoder (per-pixel MLP, ~30x)
SEC_PER_IMAGE_EPOCH = {"image": 4e-4, "coordinate": 1.2e-2}


def _n_images(study: Mapping) -> int:
    """Images of the study's data set (digits: about 180 per class and copy)."""
    d = study["data"]
    if d["name"] == "particles":
        return len(d.get("counts", (1, 2, 3))) * d.get("n_per_count", 150)
    return 180 * len(d.get("classes", (0, 1, 4))) * d.get("copies", 1)


def _jrvae_seconds(study: Mapping, n_images: int) -> float:
    j, size = study["jrvae"], study["data"]["size"]
    return j["epochs"] * n_images * (size / 24) ** 2 * SEC_PER_IMAGE_EPOCH[j["decoder"]]


def images(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """The image data set."""
    n, size = _n_images(study), study["data"]["size"]
    return {"mem_mb": cluster.mb(4 * n * size * size * 4 / 2**20), "runtime": cluster.minutes(n * size * size * 2e-6)}


def propose_round(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """A GP fit and the acquisition over the feasible grid (a few hundred observations at most)."""
    m = cluster.grid_points(study)
    return {"mem_mb": cluster.mb(16 * m * 200 * 8 / 2**20), "runtime": cluster.minutes(30 + m * 1e-3)}


def train_jrvae(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """One zBO evaluation: a jrVAE trained on the BO subset, then its manifolds scored."""
    n = study["data"]["train_subset"] or _n_images(study)
    size = study["data"]["size"]
    return {"mem_mb": cluster.mb(10 * n * size * size * 4 / 2**20 + 300),
            "runtime": cluster.minutes(_jrvae_seconds(study, n), gpu)}


def score_pool_chunk(study: Mapping, run: Mapping | None = None, *, threads: int = 1,
                     gpu: bool = False) -> dict[str, int]:
    """A job of the random-search pool: ``pool_per_job`` evaluations one after another."""
    one = train_jrvae(study, run, threads=threads, gpu=gpu)
    return {"mem_mb": one["mem_mb"], "runtime": one["runtime"] * int((run or {}).get("pool_per_job", 1))}


def final_jrvae(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """A final model, trained on the full image set."""
    n, size = _n_images(study), study["data"]["size"]
    return {"mem_mb": cluster.mb(10 * n * size * size * 4 / 2**20 + 300),
            "runtime": cluster.minutes(_jrvae_seconds(study, n), gpu)}


def evaluate(study: Mapping, run: Mapping | None = None, *, threads: int = 1, gpu: bool = False) -> dict[str, int]:
    """Metrics and figures of the final models and the BO runs."""
    return {"mem_mb": cluster.mb(4 * _n_images(study) * study["data"]["size"] ** 2 * 4 / 2**20 + 300),
            "runtime": cluster.minutes(60)}


#: the estimator of each rule ``schedules_<step>`` that runs on the cluster (a run's gather costs what a
#: proposal does)
ESTIMATES = {"images": images, "families": cluster.trajectories, "train": cluster.train_trajectory_vae,
             "grid": cluster.latent_grid, "propose": propose_round, "score": train_jrvae, "score_pool": score_pool_chunk,
             "optimize": propose_round, "final": final_jrvae, "final_repeat": final_jrvae, "evaluate": evaluate}


# ------------------------------------------------------------------ rule inputs and params
#: the settings of a BO run that decide its proposals; ``iterations`` and the baseline's are not
#: among them, so raising them reruns no earlier round
PROPOSAL_KEYS = ("acquisition", "kappa", "xi", "n_initial", "q", "strategy", "liar", "tol", "n_restarts", "seed")
#: the four final models (rule ``schedules_final``; Biswas et al. 2023, Figs. 7, 9, 11-12)
FINAL_MODELS = ("vanilla", "jrvae_constant", "jrvae_scaled", "jrvae_zbo")


def round_sizes(run: Mapping) -> list[int]:
    """Evaluations per round of a BO run, ``[n_initial, q, ..., q]`` (:func:`latentopt.studies.schedules.round_sizes_of`)."""
    from latentopt.studies.schedules import round_sizes_of

    return round_sizes_of(run)


def _evaluations(name: str, run: str, sizes: list[int], rounds) -> list[str]:
    """The evaluation files of the given rounds of a run, in order."""
    return [KIND.path(name, "bo", run, f"r{r}", f"e{j}.h5") for r in rounds for j in range(sizes[r])]


def proposal(wc, studies: Mapping, repo: Path) -> dict:
    """The settings of the run that decide its proposals (:data:`PROPOSAL_KEYS`)."""
    return {k: KIND.run_settings(studies[wc.study], wc.run)[k] for k in PROPOSAL_KEYS}


def propose_inputs(wc, studies: Mapping, repo: Path) -> dict[str, Any]:
    """The grid and the evaluations of the rounds before round ``wc.round``."""
    sizes = round_sizes(KIND.run_settings(studies[wc.study], wc.run))
    return {"grid": KIND.path(wc.study, "latent", "grid.h5"),
            "earlier": _evaluations(wc.study, wc.run, sizes, range(int(wc.round)))}


def pool_chunks(run: Mapping) -> list[list[int]]:
    """The random-search pool's points past round 0, ``pool_per_job`` to a job (rule ``schedules_score_pool``).

    Point ``k`` is the pool's ``k``-th grid point (:func:`latentopt.optimizers.bayes.rounds.random_pool_indices`);
    points ``0 .. n_initial - 1`` are round 0's evaluations. Chunk ``c`` holds points
    ``n_initial + c * pool_per_job`` onwards, so a larger pool (more ``iterations``, a larger
    ``random_pool``) adds chunks and changes at most the last one, if it was partial.

    Returns
    -------
    list of list of int
        Chunk ``c``'s point numbers, in order; empty when the pool is round 0.

    Examples
    --------
    >>> pool_chunks({"n_initial": 3, "iterations": 6, "random_pool": None, "pool_per_job": 4})
    [[3, 4, 5, 6], [7, 8]]
    """
    size = run["random_pool"] or run["n_initial"] + run["iterations"]
    points = list(range(run["n_initial"], size))
    k = int(run.get("pool_per_job", 1))
    return [points[i:i + k] for i in range(0, len(points), k)]


def pool_points(wc, studies: Mapping, repo: Path) -> list[int]:
    """params of a pool job: the point numbers of chunk ``wc.chunk`` (:func:`pool_chunks`)."""
    chunks = pool_chunks(KIND.run_settings(studies[wc.study], wc.run))
    if not 0 <= int(wc.chunk) < len(chunks):
        raise ValueError(f"{wc.study}.optimize.{wc.run}: the random pool has {len(chunks)} chunks, not chunk {wc.chunk}")
    return chunks[int(wc.chunk)]


def gather_inputs(wc, studies: Mapping, repo: Path) -> dict[str, Any]:
    """The grid, every round's proposals and evaluations, and the random-search pool beyond ``n_initial``
    (``bo/<run>/pool/c<chunk>.h5``, :func:`pool_chunks`)."""
    r = KIND.run_settings(studies[wc.study], wc.run)
    sizes = round_sizes(r)
    return {"grid": KIND.path(wc.study, "latent", "grid.h5"),
            "rounds": [KIND.path(wc.study, "bo", wc.run, f"round{k}.h5") for k in range(len(sizes))],
            "evaluations": _evaluations(wc.study, wc.run, sizes, range(len(sizes))),
            "pool": [KIND.path(wc.study, "bo", wc.run, "pool", f"c{c}.h5") for c in range(len(pool_chunks(r)))]}


def run_files(wc, studies: Mapping, repo: Path) -> list[str]:
    """The gathered BO runs, ``bo/<run>.h5``."""
    return [KIND.path(wc.study, "bo", f"{r}.h5") for r in KIND.runs(studies[wc.study])]


def final_inputs(wc, studies: Mapping, repo: Path) -> dict[str, Any]:
    """The images, plus every BO run for the zBO model (trained with the best schedule found)."""
    return {"images": KIND.path(wc.study, "data", "images.h5"),
            "runs": run_files(wc, studies, repo) if wc.model == "jrvae_zbo" else []}


def evaluate_inputs(wc, studies: Mapping, repo: Path) -> dict[str, Any]:
    """Images, trajectories, the VAE history, the grid, every BO run and the four final models."""
    return {"images": KIND.path(wc.study, "data", "images.h5"),
            "trajectories": KIND.path(wc.study, "trajectories", "train.h5"),
            "history": KIND.path(wc.study, "vae", "history.h5"),
            "grid": KIND.path(wc.study, "latent", "grid.h5"),
            "runs": run_files(wc, studies, repo),
            "finals": [KIND.path(wc.study, "final", f"{m}.h5") for m in FINAL_MODELS],
            "repeats": repeat_files(studies[wc.study], wc.study)}


def repeat_files(study: Mapping, name: str) -> list[str]:
    """The further trainings of the final models (``final.repeats - 1`` each; rule ``schedules_final_repeat``)."""
    n = int(study.get("final", {}).get("repeats", 1))
    return [KIND.path(name, "final", "repeats", m, f"r{r}.h5") for m in FINAL_MODELS for r in range(1, n)]
