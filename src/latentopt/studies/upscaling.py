"""The steps of an upscaling study (``kind: upscaling``), one function per workflow rule.

thermal states at a small L (sharded heat bath over a temperature grid) -> energy-conditioned
periodic WGAN-GP + CT (RUGAN) -> generated states at 1x, 2x, 4x the linear size -> exact
energies, KS of requested vs realized, seam check, heat-bath states at the large size
(energy distribution, structure-factor peak, throughput) -> metrics.

Mills, Casert & Tamblyn, NeurIPS 2019 ML4PS workshop (the paper judged energies with a
neural-network proxy; here every energy is the exact Hamiltonian,
:func:`latentopt.physics.hamiltonian.energy_per_spin`).

Config (one study; keys and defaults, see :data:`GAN_DEFAULTS`, :data:`EVALUATE_DEFAULTS`)::

    system:   {model: chiral_magnet, L, J, D, dmi, K, B}      # as the spin studies; L = training size
    simulate: {n_samples, T_min, T_max, n_temperatures, spacing: linear|geometric,
               T_start, n_anneal, n_hold, shards, seed}
              # sample i ends at T_k, k = i mod n_temperatures, after a geometric anneal
              # T_start -> T_k over n_anneal sweeps and n_hold sweeps at T_k
    gan:      {noise_channels, channels, out_channels, n_blocks, upsample, label_every_block,
               film_hidden, norm, critic_channels, dropout, head_hidden, energy_channel,
               epochs, batch_size, n_critic, lr, lr_critic, betas, lambda_gp, lambda_ct,
               ct_margin, augment, ema, energy_weight, energy_scales, n_monitor, seed}
    evaluate: {scales, n_generate, seed, calibrate, calibration_n, calibration_seed,
               heatbath_scale, heatbath_per_T, heatbath_seed, batch_size, n_show}

:func:`check_config` validates a study and fills the defaults.

Files (``results/<study>/``):

- ``data/dataset.h5``: ``spins (n, 3, L, L) f32``, ``energy (n,)`` (per spin, J), ``W``,
  ``Mz``, ``T (n,)``; attrs: system and simulate settings;
- ``gan/generator.pt``: state dict + hparams (incl. ``label_mean``, ``label_std``) of the
  :class:`~latentopt.models.rugan.RUGANGenerator` (load with
  :func:`~latentopt.models.rugan.load_generator`);
- ``gan/history.h5``: per epoch ``critic_loss``, ``wasserstein``, ``gp``, ``ct``,
  ``generator_loss``, ``energy_loss``, ``energy_mae``, ``energy_r``, ``epoch_time``
  (:func:`latentopt.trainers.gan.write_gan_history`);
- ``generated/x<s>.h5``: ``spins (n, 3, sL, sL) f32``, ``requested (n,)``, ``energy (n,)``
  (exact energy per spin of each state), plus ``T``, ``index`` (the training state whose
  label was drawn) and ``label`` (what the generator was fed; differs from ``requested``
  only with ``evaluate.calibrate``); attrs: system with ``L = sL``, ``scale``,
  ``states_per_s``;
- ``heatbath/x<s>.h5``: ``spins``, ``energy``, ``T`` of the heat-bath reference;
- ``metrics.json``: :func:`summarize`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from latentopt.dataset import observables, shard_indices
from latentopt.io import read_attrs, read_h5, write_h5
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.heatbath import anneal, geometric_schedule

#: Datasets of the upscaling study's ``dataset.h5`` (the spin studies' plus the temperature).
UPSCALING_DATASET_KEYS = ("spins", "energy", "W", "Mz", "T")


# --------------------------------------------------------------------------- temperatures
def temperature_grid(simulate: dict) -> np.ndarray:
    """Final temperatures of the study: ``n_temperatures`` values in ``[T_min, T_max]``.

    Parameters
    ----------
    simulate : dict
        ``T_min``, ``T_max`` (> 0, units of J), ``n_temperatures`` (>= 1; one value
        means ``T_min``) and optionally ``spacing``: ``"linear"`` (default; for the chiral
        magnet the energy per spin is roughly linear in T between 0.1 and 1.2 J, so the
        labels spread about evenly) or ``"geometric"`` (denser at low T).

    Returns
    -------
    ndarray, shape (n_temperatures,)
        Increasing temperatures.

    Raises
    ------
    ValueError
        Naming the key, on non-positive or inverted temperatures or ``n_temperatures < 1``.
    """
    t_min, t_max, k = float(simulate["T_min"]), float(simulate["T_max"]), int(simulate["n_temperatures"])
    if not 0 < t_min <= t_max:
        raise ValueError(f"simulate.T_min, simulate.T_max: expected 0 < T_min <= T_max, got {t_min}, {t_max}")
    if k < 1:
        raise ValueError(f"simulate.n_temperatures: expected an int >= 1, got {k}")
    spacing = simulate.get("spacing", "linear")
    if spacing not in ("linear", "geometric"):
        raise ValueError(f"simulate.spacing: expected 'linear' or 'geometric', got {spacing!r}")
    if k == 1:
        return np.array([t_min])
    return np.linspace(t_min, t_max, k) if spacing == "linear" else np.geomspace(t_min, t_max, k)


def sample_temperature_index(indices: np.ndarray, n_temperatures: int) -> np.ndarray:
    """Temperature of each global sample index: ``index mod n_temperatures`` (balanced, shard-independent)."""
    return np.asarray(indices, dtype=np.int64) % int(n_temperatures)


def thermal_schedule(T_start: float, T: float, n_anneal: int, n_hold: int) -> np.ndarray:
    """Sweep temperatures: a geometric anneal from ``T_start`` to ``T`` over ``n_anneal`` sweeps, then ``n_hold`` at ``T``.

    Returns
    -------
    ndarray, shape (n_anneal + n_hold,)

    Raises
    ------
    ValueError
        If ``n_anneal < 1`` or ``n_hold < 0`` (see also :func:`geometric_schedule`).
    """
    if n_hold < 0:
        raise ValueError(f"simulate.n_hold: expected an int >= 0, got {n_hold}")
    return np.concatenate([geometric_schedule(T_start, T, n_anneal), np.full(int(n_hold), float(T))])


def thermal_states(model: ChiralMagnet, indices: np.ndarray, seed: int, temperatures: np.ndarray,
                   t_index: np.ndarray, T_start: float, n_anneal: int, n_hold: int) -> np.ndarray:
    """Heat-bath states of the given samples, each annealed to its own final temperature.

    A thin wrapper around :func:`latentopt.physics.heatbath.anneal`: samples are grouped
    by final temperature and each group is annealed with one call (schedule
    :func:`thermal_schedule`). Each sample's random stream depends only on
    ``(seed, index)``, so a sample's state does not depend on the grouping, the other
    samples or the thread count.

    Parameters
    ----------
    model : ChiralMagnet
    indices : ndarray of int, shape (m,)
        Global sample indices.
    seed : int
    temperatures : ndarray, shape (k,)
        Final temperatures (units of J).
    t_index : ndarray of int, shape (m,)
        Index into ``temperatures`` of each sample.
    T_start, n_anneal, n_hold
        Schedule, see :func:`thermal_schedule`.

    Returns
    -------
    ndarray, shape (m, 3, L, L), float64
    """
    indices = np.asarray(indices, dtype=np.int64)
    t_index = np.asarray(t_index, dtype=np.int64)
    if t_index.shape != indices.shape:
        raise ValueError(f"t_index: expected shape {indices.shape}, got {t_index.shape}")
    out = np.empty((len(indices), 3, model.L, model.L))
    for k in np.unique(t_index):
        sel = np.flatnonzero(t_index == k)
        out[sel] = anneal(model, indices[sel], seed, thermal_schedule(T_start, temperatures[k], n_anneal, n_hold))
    return out


def check_simulate(simulate: dict) -> None:
    """Validate an upscaling ``simulate`` block; raise ``ValueError`` naming the key."""
    temperature_grid(simulate)
    if float(simulate["T_start"]) < float(simulate["T_max"]):
        raise ValueError(f"simulate.T_start: expected >= T_max={simulate['T_max']}, got {simulate['T_start']}")
    if int(simulate["n_anneal"]) < 1:
        raise ValueError(f"simulate.n_anneal: expected an int >= 1, got {simulate['n_anneal']}")
    if int(simulate["n_hold"]) < 0:
        raise ValueError(f"simulate.n_hold: expected an int >= 0, got {simulate['n_hold']}")
    if int(simulate["n_samples"]) < 2:
        raise ValueError(f"simulate.n_samples: expected an int >= 2, got {simulate['n_samples']}")


def simulate_shard(system: dict, simulate: dict, shard: int) -> dict[str, np.ndarray]:
    """Thermal training states of one shard (rule ``simulate``).

    Sample ``i`` ends at temperature ``temperature_grid(simulate)[i mod n_temperatures]``
    after :func:`thermal_schedule`; shards are contiguous index blocks
    (:func:`latentopt.dataset.shard_indices`), so the merged set is the same for any
    shard count.

    Parameters
    ----------
    system : dict
        ``system`` block (L, J, D, dmi, K, B).
    simulate : dict
        ``n_samples``, ``T_min``, ``T_max``, ``n_temperatures``, ``spacing``, ``T_start``,
        ``n_anneal``, ``n_hold``, ``shards``, ``seed``.
    shard : int

    Returns
    -------
    dict
        ``index (m,)``, ``spins (m, 3, L, L) float32``, ``energy`` (per spin, J), ``W``,
        ``Mz``, ``T`` ``(m,)``.
    """
    check_simulate(simulate)
    model = ChiralMagnet.from_config(system)
    temps = temperature_grid(simulate)
    idx = shard_indices(int(simulate["n_samples"]), int(simulate["shards"]), shard)
    t_index = sample_temperature_index(idx, len(temps))
    spins = thermal_states(model, idx, int(simulate["seed"]), temps, t_index, float(simulate["T_start"]),
                           int(simulate["n_anneal"]), int(simulate["n_hold"]))
    return {"index": idx, "spins": spins.astype(np.float32), **observables(spins, model), "T": temps[t_index]}


def merge_shards(paths: list[str | Path], out: str | Path, attrs: dict) -> None:
    """Concatenate shard files (ordered by sample index) into ``dataset.h5`` with ``T``.

    Raises
    ------
    ValueError
        If the shards' indices are not exactly ``0 .. n - 1``.
    """
    parts = sorted((read_h5(p) for p in paths), key=lambda d: int(d["index"][0]) if len(d["index"]) else 0)
    index = np.concatenate([p["index"] for p in parts])
    if not np.array_equal(index, np.arange(len(index))):
        raise ValueError(f"shards {list(map(str, paths))}: sample indices are not 0..{len(index) - 1}")
    write_h5(out, {k: np.concatenate([p[k] for p in parts]) for k in UPSCALING_DATASET_KEYS}, attrs)


def load_dataset(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read an upscaling ``dataset.h5``: arrays (:data:`UPSCALING_DATASET_KEYS`) and attributes."""
    return read_h5(path, list(UPSCALING_DATASET_KEYS)), read_attrs(path)


# --------------------------------------------------------------------------- config
#: Defaults of the ``gan`` block (the paper's optimizer settings; a small architecture).
GAN_DEFAULTS = dict(noise_channels=15, channels=16, out_channels=16, n_blocks=3, upsample=2, label_every_block=True,
                    film_hidden=32, norm="batch", critic_channels=[16, 32, 32], dropout=0.1, head_hidden=0, energy_channel=True,
                    epochs=30, batch_size=32, n_critic=10, lr=1e-4, lr_critic=None, betas=[0.0, 0.9],
                    lambda_gp=10.0, lambda_ct=2.0, ct_margin=0.0, augment=True, ema=0.0, energy_weight=0.0,
                    energy_scales=[1], n_monitor=256, seed=2)
#: Defaults of the ``evaluate`` block.
EVALUATE_DEFAULTS = dict(scales=[1, 2, 4], n_generate=2000, seed=3, calibrate=False, calibration_n=1000,
                         calibration_seed=5, heatbath_scale=None, heatbath_per_T=4, heatbath_seed=4, batch_size=64,
                         n_show=6)
#: KS and p-value of requested vs realized energies in Mills et al. (2019): training size, and 4x the area.
PAPER_KS = {1: {"ks": 0.02, "p_value": 0.19}, 2: {"ks": 0.02, "p_value": 0.18}}


def with_defaults(block: dict | None, defaults: dict) -> dict:
    """``defaults`` updated with ``block`` (unknown keys rejected).

    Raises
    ------
    ValueError
        On a key that ``defaults`` does not have.
    """
    block = dict(block or {})
    unknown = sorted(set(block) - set(defaults))
    if unknown:
        raise ValueError(f"unknown keys {unknown}; expected some of {sorted(defaults)}")
    return {**defaults, **block}


def check_config(study: dict, prefix: str = "upscaling") -> dict:
    """Validate an upscaling study (``system``, ``simulate``, ``gan``, ``evaluate``); return it with defaults.

    Checks what a schema cannot: ``system.L`` divisible by ``gan.upsample`` with an even
    number of noise cells (the seam check compares the boundary with the middle line, an
    image of it under the generator's cell-shift symmetry), known scales (distinct
    positive ints), the heat-bath scale among them, ``gan.n_critic >= 1``, and the
    ``simulate`` block (:func:`check_simulate`).

    Raises
    ------
    ValueError
        With the dotted key, e.g. ``upscaling.gan.n_critic: expected an int >= 1, got 0``.
    """
    def fail(key: str, msg: str):
        raise ValueError(f"{prefix}.{key}: {msg}")

    out = dict(study)
    for name, defaults in (("gan", GAN_DEFAULTS), ("evaluate", EVALUATE_DEFAULTS)):
        try:
            out[name] = with_defaults(study.get(name), defaults)
        except ValueError as exc:
            fail(name, str(exc))
    try:
        check_simulate(study["simulate"])
    except ValueError as exc:
        raise ValueError(f"{prefix}.{exc}") from None
    gan, ev = out["gan"], out["evaluate"]
    L, u = int(study["system"]["L"]), gan["upsample"]
    if not isinstance(u, int) or u < 1:
        fail("gan.upsample", f"expected a positive int, got {u!r}")
    if L % u or (L // u) % 2:
        fail("system.L", f"{L} must be an even multiple of gan.upsample={u} (L / upsample even)")
    if not isinstance(gan["n_critic"], int) or gan["n_critic"] < 1:
        fail("gan.n_critic", f"expected an int >= 1, got {gan['n_critic']!r}")
    for key in ("epochs", "batch_size"):
        if not isinstance(gan[key], int) or gan[key] < (2 if key == "batch_size" else 1):
            fail(f"gan.{key}", f"expected a positive int{' >= 2' if key == 'batch_size' else ''}, got {gan[key]!r}")
    scales = ev["scales"]
    if (not isinstance(scales, (list, tuple)) or not scales
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in scales)
            or len(set(scales)) != len(scales)):
        fail("evaluate.scales", f"expected distinct positive ints (linear upscaling factors), got {scales!r}")
    hb = ev["heatbath_scale"] if ev["heatbath_scale"] is not None else max(scales)
    if hb not in scales:
        fail("evaluate.heatbath_scale", f"{hb!r} is not among evaluate.scales {list(scales)}")
    out["evaluate"] = {**ev, "heatbath_scale": hb}
    if not isinstance(ev["n_generate"], int) or ev["n_generate"] < 2:
        fail("evaluate.n_generate", f"expected an int >= 2, got {ev['n_generate']!r}")
    return out


# --------------------------------------------------------------------------- GAN
def train_gan(data: dict[str, np.ndarray], system: dict, gan: dict, device="cpu", checkpoint=None,
              progress: bool = True):
    """Train the RUGAN on the training states and their energies (rule ``train_gan``).

    Parameters
    ----------
    data : dict
        ``spins (n, 3, L, L)`` and ``energy (n,)`` of ``dataset.h5``.
    system : dict
        ``system`` block (the monitored energies and the critic's energy channel use it).
    gan : dict
        ``gan`` block (see :data:`GAN_DEFAULTS`).
    device, checkpoint, progress
        See :func:`latentopt.trainers.gan.train_rugan`.

    Returns
    -------
    generator : RUGANGenerator
    history : dict
    """
    from latentopt.trainers.gan import train_rugan

    gan = with_defaults(gan, GAN_DEFAULTS)
    model = ChiralMagnet.from_config(system)
    gen_kw = {k: gan[k] for k in ("noise_channels", "channels", "out_channels", "n_blocks", "upsample",
                                  "label_every_block", "film_hidden", "norm")}
    crit_kw = dict(channels=list(gan["critic_channels"]), dropout=gan["dropout"], head_hidden=gan["head_hidden"],
                   system=_system_dict(model) if gan["energy_channel"] else None)
    G, _, history = train_rugan(
        data["spins"], data["energy"], epochs=gan["epochs"], seed=gan["seed"], batch_size=gan["batch_size"],
        n_critic=gan["n_critic"], lr=gan["lr"], lr_critic=gan["lr_critic"], betas=tuple(gan["betas"]),
        lambda_gp=gan["lambda_gp"], lambda_ct=gan["lambda_ct"], ct_margin=gan["ct_margin"], augment=gan["augment"],
        ema=gan["ema"], energy_weight=gan["energy_weight"], energy_scales=gan["energy_scales"], generator=gen_kw, critic=crit_kw, model=model, n_monitor=gan["n_monitor"], device=device,
        checkpoint=checkpoint, progress=progress)
    return G, history


def _system_dict(model: ChiralMagnet) -> dict:
    return dict(L=model.L, J=model.J, D=model.D, dmi=model.dmi, K=model.K, B=list(model.B))


def requested_labels(data: dict[str, np.ndarray], n: int, seed: int) -> dict[str, np.ndarray]:
    """Draw ``n`` requested energies from the training labels (with replacement; paper: "randomly sampled from the training data").

    Returns
    -------
    dict
        ``requested (n,)`` energies per spin, ``index (n,)`` the training state each was
        taken from and ``T (n,)`` its temperature (NaN without ``T`` in ``data``).
    """
    rng = np.random.default_rng([int(seed), 0])
    idx = rng.integers(0, len(data["energy"]), size=int(n))
    T = data["T"][idx] if "T" in data else np.full(len(idx), np.nan)
    return {"requested": np.asarray(data["energy"], np.float64)[idx], "index": idx.astype(np.int64),
            "T": np.asarray(T, np.float64)}


def calibrate_generator(generator, data: dict[str, np.ndarray], system: dict, n: int, seed: int, device="cpu",
                        batch_size: int = 64, scale: int = 1) -> dict:
    """Fit the label calibration of a trained generator at the training size (optional step, not in the paper).

    ``n`` labels drawn from the training labels (:func:`requested_labels` with ``seed``)
    are fed to the generator at scale 1 with noise seed ``seed``; the exact energies of
    the states give the monotone map label -> mean realized energy
    (:func:`latentopt.fidelity.fit_calibration`). Requesting
    :func:`latentopt.fidelity.invert_calibration` of a target then removes the
    generator's systematic, label-dependent energy bias. The same table is used at every
    scale, so the larger scales test whether the correction transfers.

    Returns
    -------
    dict
        ``table`` (``label``, ``realized`` lists) and ``raw``: the uncalibrated
        requested-vs-realized metrics of these ``n`` states
        (:func:`latentopt.fidelity.compare_requested_realized`).
    """
    from latentopt.fidelity import compare_requested_realized, fit_calibration
    from latentopt.models.rugan import generate
    from latentopt.physics.hamiltonian import energy_per_spin

    req = requested_labels(data, n, seed)["requested"]
    spins = generate(generator, req, scale, seed, device, batch_size)
    realized = energy_per_spin(spins, ChiralMagnet.from_config({**system, "L": spins.shape[-1]}))
    return {"table": fit_calibration(req, realized), "raw": compare_requested_realized(req, realized)}


def generate_scale(generator, requests: dict[str, np.ndarray], system: dict, scale: int, seed: int,
                   device="cpu", batch_size: int = 64, calibration: dict | None = None) -> dict[str, np.ndarray | float]:
    """Generate states of the requested energies at ``scale`` times the training size and compute their exact energies.

    The generation is timed (noise, forward pass, copy to the host; the first batch is
    generated once beforehand to exclude one-off start-up costs).

    Parameters
    ----------
    generator : RUGANGenerator
    requests : dict
        :func:`requested_labels`.
    system : dict
    scale : int
    seed : int
        Noise seed.
    device, batch_size
    calibration : dict, optional
        A table of :func:`calibrate_generator`; the generator is then fed the calibrated
        labels (``label``) instead of the requested energies.

    Returns
    -------
    dict
        ``spins (n, 3, sL, sL) float32``, ``requested (n,)``, ``label (n,)`` (fed to the
        generator), ``energy (n,)`` (exact energy per spin of each generated state, J),
        ``T (n,)``, ``index (n,)``, and ``seconds`` (float) and ``states_per_s`` (float).
    """
    from latentopt.fidelity import invert_calibration
    from latentopt.models.rugan import generate

    req = requests["requested"]
    labels = invert_calibration(calibration, req) if calibration is not None else np.asarray(req, np.float64)
    generate(generator, labels[:min(len(labels), batch_size)], scale, seed + 1, device, batch_size)  # warm-up
    t0 = time.perf_counter()
    spins = generate(generator, labels, scale, seed, device, batch_size)
    seconds = time.perf_counter() - t0
    model = ChiralMagnet.from_config({**system, "L": spins.shape[-1]})
    from latentopt.physics.hamiltonian import energy_per_spin

    return {"spins": spins, "requested": np.asarray(req, np.float64), "label": labels,
            "energy": energy_per_spin(spins, model), "T": requests["T"], "index": requests["index"], "seconds": seconds, "states_per_s": len(req) / seconds}


def scale_metrics(gen: dict, system: dict) -> dict[str, float]:
    """Metrics of one scale: requested vs realized (KS, p, Pearson r, MAE, bias), seam check, generation rate.

    Parameters
    ----------
    gen : dict
        ``spins``, ``requested``, ``energy`` and ``states_per_s`` (:func:`generate_scale`
        or a ``generated/x<s>.h5`` file plus its rate).
    system : dict

    Returns
    -------
    dict
        ``L``, ``ks``, ``p_value``, ``pearson_r``, ``mae``, ``bias``, ``n``, ``seam_ks``,
        ``seam_p``, ``seam_excess``, ``seam_excess_se``, ``states_per_s``.
    """
    from latentopt.fidelity import compare_requested_realized
    from latentopt.physics.periodicity import seam_check

    L = gen["spins"].shape[-1]
    model = ChiralMagnet.from_config({**system, "L": L})
    seam = seam_check(gen["spins"], model)
    return {"L": int(L), **compare_requested_realized(gen["requested"], gen["energy"]),
            **{k: seam[k] for k in ("seam_ks", "seam_p", "seam_excess", "seam_excess_se")},
            "states_per_s": float(gen["states_per_s"])}


def heatbath_reference(system: dict, simulate: dict, scale: int, per_T: int, seed: int) -> dict:
    """Heat-bath states sampled directly at ``scale`` times the training size, ``per_T`` at each training temperature.

    Same schedule as the training data (:func:`thermal_schedule`), timed after a warm-up
    call that compiles the kernel.

    Returns
    -------
    dict
        ``spins (m, 3, sL, sL) float32``, ``energy (m,)``, ``T (m,)``, ``seconds``,
        ``states_per_s``, ``sweeps`` (per state).
    """
    check_simulate(simulate)
    model = ChiralMagnet.from_config({**system, "L": int(system["L"]) * int(scale)})
    temps = temperature_grid(simulate)
    idx = np.arange(int(per_T) * len(temps))
    t_index = sample_temperature_index(idx, len(temps))
    anneal(ChiralMagnet.from_config({**system, "L": 4}), np.arange(1), 0, np.array([1.0]))  # compile
    t0 = time.perf_counter()
    spins = thermal_states(model, idx, int(seed), temps, t_index, float(simulate["T_start"]),
                           int(simulate["n_anneal"]), int(simulate["n_hold"]))
    seconds = time.perf_counter() - t0
    from latentopt.physics.hamiltonian import energy_per_spin

    return {"spins": spins.astype(np.float32), "energy": energy_per_spin(spins, model), "T": temps[t_index],
            "seconds": seconds, "states_per_s": len(idx) / seconds,
            "sweeps": int(simulate["n_anneal"]) + int(simulate["n_hold"])}


def compare_with_heatbath(gen: dict, hb: dict, train: dict | None = None) -> dict:
    """Generated vs heat-bath states at the same (large) size and matched temperatures.

    Each generated state inherits the temperature of the training state its label was
    drawn from; the heat-bath states were annealed to that temperature at the large size.

    Parameters
    ----------
    gen : dict
        ``spins``, ``energy``, ``T`` (:func:`generate_scale`) at the heat-bath size.
    hb : dict
        ``spins``, ``energy``, ``T`` (:func:`heatbath_reference`).
    train : dict, optional
        ``spins``, ``energy``, ``T`` of the training set (its peak |q| is added).

    Returns
    -------
    dict
        ``energy_ks``, ``energy_p`` (KS of the pooled energy distributions, the generated
        set weighted as drawn), ``peak_q_generated``, ``peak_q_heatbath`` (peak of the
        mean structure factor over all states, :func:`latentopt.physics.structure_factor.peak_wavenumber`),
        ``s_zone_boundary_<set>`` (:func:`zone_boundary_weight`, a sub-lattice artefact
        of the 2x upsampling shows up there),
        ``per_T``: list of dicts ``T``, ``n_generated``, ``n_heatbath``,
        ``energy_generated``, ``energy_generated_std``, ``energy_heatbath``,
        ``energy_heatbath_std``, ``peak_q_generated``, ``peak_q_heatbath`` (and
        ``energy_train``, ``peak_q_train`` with ``train``); ``profiles``: radial
        ``S(|q|)`` per set, ``{name: (q, S)}`` (for figures, not JSON).
    """
    from latentopt.fidelity import ks_distance
    from latentopt.physics.structure_factor import peak_wavenumber, radial_profile, structure_factor

    if gen["spins"].shape[-1] != hb["spins"].shape[-1]:
        raise ValueError(f"gen, hb: expected states of one size, got {gen['spins'].shape[-1]} and "
                         f"{hb['spins'].shape[-1]}")
    ks = ks_distance(gen["energy"], hb["energy"])
    sets = {"generated": gen, "heatbath": hb, **({"train": train} if train is not None else {})}
    sq = {name: structure_factor(d["spins"], average=True) for name, d in sets.items()}
    out = {"energy_ks": ks["ks"], "energy_p": ks["p_value"],
           **{f"peak_q_{name}": peak_wavenumber(s) for name, s in sq.items()},
           **{f"s_zone_boundary_{name}": zone_boundary_weight(s) for name, s in sq.items()}, "per_T": [],
           "profiles": {name: radial_profile(s) for name, s in sq.items()}}
    for T in np.unique(hb["T"]):
        row = {"T": float(T)}
        for name, d in sets.items():
            sel = np.isclose(d["T"], T)
            row[f"n_{name}"] = int(sel.sum())
            if sel.any():
                row[f"energy_{name}"] = float(d["energy"][sel].mean())
                row[f"energy_{name}_std"] = float(d["energy"][sel].std())
                row[f"peak_q_{name}"] = peak_wavenumber(structure_factor(d["spins"][sel], average=True))
        out["per_T"].append(row)
    return out


def zone_boundary_weight(sq: np.ndarray) -> float:
    """Mean ``S(q)`` at the zone-boundary points ``(pi, 0)``, ``(0, pi)``, ``(pi, pi)`` of an even lattice.

    A period-2 (sub-lattice) pattern, e.g. left by a 2x upsampling layer, puts weight
    there; thermal states of the chiral magnet have ``S`` of order 0.1-0.3 there.
    """
    L_y, L_x = sq.shape
    if L_y % 2 or L_x % 2:
        raise ValueError(f"sq: expected even lattice sides, got {sq.shape}")
    return float((sq[0, L_x // 2] + sq[L_y // 2, 0] + sq[L_y // 2, L_x // 2]) / 3.0)


def summarize(metrics_per_scale: dict[int, dict], hb: dict, comparison: dict, dataset: dict,
              history: dict) -> dict:
    """Assemble ``metrics.json``.

    Returns
    -------
    dict
        ``scales``: ``{"<s>": scale_metrics + paper_ks, paper_p_value where the paper has
        them}``; ``heatbath``: ``L``, ``scale``, ``n``, ``sweeps``, ``seconds``,
        ``states_per_s``, ``energy_ks``, ``energy_p``, ``peak_q_*``, ``per_T``;
        ``speedup``: generated over heat-bath states per second at the heat-bath size;
        ``training``: ``L``, ``n_states``, ``energy_min``, ``energy_max``,
        ``generator_steps``, ``epochs``, final ``energy_mae``/``energy_r`` of the monitor.
    """
    hb_L = int(hb["spins"].shape[-1])
    scales = {}
    for s, m in sorted(metrics_per_scale.items()):
        row = dict(m)
        if s in PAPER_KS:
            row["paper_ks"], row["paper_p_value"] = PAPER_KS[s]["ks"], PAPER_KS[s]["p_value"]
        scales[str(s)] = row
    hb_scale = next(s for s, m in metrics_per_scale.items() if m["L"] == hb_L)
    return {
        "scales": scales,
        "heatbath": {"L": hb_L, "scale": int(hb_scale), "n": int(len(hb["energy"])), "sweeps": int(hb["sweeps"]),
                     "seconds": float(hb["seconds"]), "states_per_s": float(hb["states_per_s"]),
                     **{k: v for k, v in comparison.items() if k != "profiles"}},
        "speedup": float(metrics_per_scale[hb_scale]["states_per_s"] / hb["states_per_s"]),
        "training": {"L": int(dataset["spins"].shape[-1]), "n_states": int(len(dataset["energy"])),
                     "energy_min": float(np.min(dataset["energy"])), "energy_max": float(np.max(dataset["energy"])),
                     "epochs": len(history["wasserstein"]), "generator_steps": int(history.get("generator_steps", -1)),
                     "final_energy_mae": float(history["energy_mae"][-1]),
                     "final_energy_r": float(history["energy_r"][-1])},
    }
