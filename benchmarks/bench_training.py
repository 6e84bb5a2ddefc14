"""The spin study's torch stages before and after the CPU work of issue 13 (part 3), in one process.

``stages`` (default): each stage's torch work at the default config's sizes (study
``labyrinth``: L = 64, 1200 states, latent_dim 32, batch 100 with augmentation; relax 100
codes; genetic population 100; stochastic 32 samples), timed in the library's own loops
(:func:`latentopt.trainers.vae.train_vae`, :func:`latentopt.optimizers.single_code`,
:func:`~latentopt.optimizers.genetic`, :func:`~latentopt.optimizers.stochastic`) for

- ``before``: the code as it was (the ``legacy()`` context below restores it: NCHW layout,
  ``F.pad(mode="circular")`` with autograd's backward through its slices,
  ``F.normalize``, the energy and W with ``torch.linalg.cross`` and channel-axis sums,
  float32 training);
- ``after``: today's code (channels-last on the CPU, the folding circular pad, plane-wise
  physics, inference mode); training in each of ``--precision`` (default: both ``fp32``
  and ``bf16``), each compared with ``before``.

The machine is shared, so the two are timed in turn (interleaved) ``--repeats`` times, a
block of iterations each (training: one epoch; relax: ``--relax-iters``; genetic:
``--genetic-gens`` per objective; stochastic: ``--stochastic-iters``); reported are the
medians of wall time (and process CPU time) per block, the median of the per-repeat
before/after ratios, and the default run's stage time these imply (block time scaled to
30 epochs, 300 relax iterations, 2 x 300 generations, 800 stochastic iterations). Weights
are a fresh model and the training data random unit vectors (or ``--dataset``): the cost
of an iteration does not depend on either. ``OMP_WAIT_POLICY`` (``--wait-policy``) is a
process setting, read when torch loads: run the benchmark once per value to compare them.

``quality``: trains the VAE for the default 30 epochs on ``--dataset`` (e.g. the default
run's ``dataset.h5``) for each of ``--configs`` (``legacy``: the code before; ``fp32``,
``bf16``: today's code in that precision) and ``--seeds``, then evaluates every model with
today's float32 decoding: final validation loss (float32 in every configuration),
reconstruction SSIM on the validation states, energy and nodal points per state of 100
decoded prior codes (X_VAE, generate seed 3) and of the same codes relaxed for 300 Adam
steps (X'_VAE). Prints one line per model and a JSON summary (``--out``).

``waitpolicy``: the evaluate job's mix of numba and torch work (numba energy density of
100 states, then the torch energy of 1200 states and a decode of 120, three times), in
child processes with ``OMP_WAIT_POLICY`` unset, set for numba's pool only (what
:func:`latentopt.scripting.setup` achieves after ``import torch``) and set for both pools
(set before torch loads), ``--repeats`` times in turn; reports the median time of each part
and the CPU time the idle workers burn in the 0.5 s after a numba call and after a torch op.

``decode``: the default run's decoder (``--model``, e.g. its ``vae/model.pt``) before vs
after: the largest change of a decoded state, of its energy per spin and W, and of the
energies after ``--relax-iters`` relax steps of 100 codes (float32 both).

Usage::

    python benchmarks/bench_training.py [stages] [--threads 2] [--repeats 3] [--precision fp32 bf16]
    python benchmarks/bench_training.py quality --dataset results/labyrinth/data/dataset.h5 --seeds 2 12 22
    python benchmarks/bench_training.py decode --model results/labyrinth/vae/model.pt
    python benchmarks/bench_training.py waitpolicy --repeats 5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time

DEFAULT_SYSTEM = dict(model="chiral_magnet", L=64, J=1.0, D=0.3, dmi="interfacial", K=0.0, B=[0.0, 0.0, 0.0])
DEFAULT_VAE = dict(latent_dim=32, beta=0.001, epochs=30, batch_size=100, lr=0.001, val_fraction=0.1, augment=True,
                   seed=2)
# iterations of the default run (config/config.yaml) the per-block times are scaled to
DEFAULT_ITERATIONS = dict(train_vae=30, relax=300, genetic=300, stochastic=800)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", nargs="?", default="stages", choices=("stages", "quality", "decode", "waitpolicy"))
    ap.add_argument("--child", choices=("unset", "numba", "both"), help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--wait-policy", choices=("passive", "active", "unset"), default="unset",
                    help="OMP_WAIT_POLICY of this process (set before torch loads; unset: as inherited)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=("fp32", "bf16"),
                    help="training precisions of 'after'")
    ap.add_argument("--stages", nargs="+", default=["train_vae", "relax", "genetic", "stochastic"])
    ap.add_argument("--relax-iters", type=int, default=30)
    ap.add_argument("--genetic-gens", type=int, default=30)
    ap.add_argument("--stochastic-iters", type=int, default=40)
    ap.add_argument("--dataset", help="dataset.h5 (stages: optional training data; quality: required)")
    ap.add_argument("--model", help="model.pt (decode mode)")
    ap.add_argument("--configs", nargs="+", default=["legacy", "fp32", "bf16"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[2])
    ap.add_argument("--epochs", type=int, default=DEFAULT_VAE["epochs"])
    ap.add_argument("--relax-steps", type=int, default=300, help="quality and decode: relax iterations")
    ap.add_argument("--out", help="quality: write the per-model results here (JSON)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for the docs test")
    return ap.parse_args()


ARGS = parse_args()
if ARGS.wait_policy != "unset":
    os.environ["OMP_WAIT_POLICY"] = ARGS.wait_policy  # read by torch's OpenMP runtime when it loads
if ARGS.child in ("unset", "numba"):
    os.environ.pop("OMP_WAIT_POLICY", None)
elif ARGS.child == "both":
    os.environ["OMP_WAIT_POLICY"] = "passive"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import latentopt.models.vae as vae_module  # noqa: E402
import latentopt.trainers.vae as trainer_module  # noqa: E402
from latentopt.latent import frozen_decoder, prior_codes  # noqa: E402
from latentopt.metrics import reconstruction_ssim, set_metrics  # noqa: E402
from latentopt.models.vae import SpinVAE, load_model  # noqa: E402
from latentopt.optimizers import make_objective  # noqa: E402
from latentopt.optimizers.genetic import genetic  # noqa: E402
from latentopt.optimizers.single_code import single_code  # noqa: E402
from latentopt.optimizers.stochastic import stochastic  # noqa: E402
from latentopt.optimizers.objectives import Objective  # noqa: E402
from latentopt.physics import torch_physics as tp  # noqa: E402
from latentopt.physics.hamiltonian import ChiralMagnet  # noqa: E402
from latentopt.physics.states import random_states  # noqa: E402
from latentopt.trainers.vae import decode as decode_codes  # noqa: E402
from latentopt.trainers.vae import encode_mean, train_vae  # noqa: E402


# ----------------------------------------------------------------------------- the code before


def _legacy_energy_per_spin(spins: torch.Tensor, model: ChiralMagnet) -> torch.Tensor:
    """torch_physics.energy_per_spin as it was: linalg.cross and channel sums over (n, 3, L, L)."""
    def dot(a, b):
        return (a * b).sum(dim=1)

    def nb(s, dx, dy):
        return torch.roll(s, shifts=(-dy, -dx), dims=(-2, -1))

    def dmi(d, a, b):
        c = torch.linalg.cross(a, b, dim=1)
        return d[0] * c[:, 0] + d[1] * c[:, 1] + d[2] * c[:, 2]

    d = model.dmi_vectors()
    sx, sy = nb(spins, 1, 0), nb(spins, 0, 1)
    e_x = -model.J * dot(spins, sx) - dmi(d[0], spins, sx)
    e_y = -model.J * dot(spins, sy) - dmi(d[1], spins, sy)
    bonds = 0.5 * (e_x + torch.roll(e_x, 1, dims=-1) + e_y + torch.roll(e_y, 1, dims=-2))
    B = model.B
    onsite = -model.K * spins[:, 2] ** 2 - (B[0] * spins[:, 0] + B[1] * spins[:, 1] + B[2] * spins[:, 2])
    return (bonds + onsite).mean(dim=(-2, -1))


def _legacy_topological_charge(spins: torch.Tensor) -> torch.Tensor:
    def dot(a, b):
        return (a * b).sum(dim=1)

    def solid(a, b, c):
        return 2.0 * torch.atan2(dot(a, torch.linalg.cross(b, c, dim=1)), 1.0 + dot(a, b) + dot(b, c) + dot(c, a))

    s2, s3, s4 = (torch.roll(spins, shifts=(-dy, -dx), dims=(-2, -1)) for dx, dy in ((1, 0), (1, 1), (0, 1)))
    return (solid(spins, s2, s3) + solid(spins, s3, s4)).sum(dim=(-2, -1)) / (4.0 * math.pi)


def _contiguous(model):
    return model.to(memory_format=torch.contiguous_format)


@contextlib.contextmanager
def legacy():
    """Run the library as it was before this work (module docstring), restoring it afterwards."""
    saved = [(vae_module, "circular_pad"), (vae_module, "unit_vectors"), (vae_module, "prefer_memory_format"),
             (trainer_module, "prefer_memory_format"), (tp, "energy_per_spin"), (tp, "topological_charge")]
    old = [getattr(m, name) for m, name in saved]
    vae_module.circular_pad = lambda x: F.pad(x, (1, 1, 1, 1), mode="circular")
    vae_module.unit_vectors = lambda x: F.normalize(x, dim=1, eps=1e-8)
    vae_module.prefer_memory_format = trainer_module.prefer_memory_format = _contiguous
    tp.energy_per_spin, tp.topological_charge = _legacy_energy_per_spin, _legacy_topological_charge
    try:
        yield
    finally:
        for (m, name), value in zip(saved, old):
            setattr(m, name, value)


def variant(name: str):
    return legacy() if name == "before" or name == "legacy" else contextlib.nullcontext()


def objective(name: str, hm: ChiralMagnet, direction: str) -> Objective:
    """The objective, bound to the physics functions current when it is called (legacy or not)."""
    fn = (lambda s: tp.energy_per_spin(s, hm)) if name == "energy" else (lambda s: tp.topological_charge(s))
    return Objective(name=name, direction=direction, fn=fn)


def decoder_of(model: SpinVAE, name: str):
    """A frozen copy of the decoder in the variant's layout."""
    m = SpinVAE(**model.hparams)
    m.load_state_dict(model.state_dict())
    if name in ("before", "legacy"):
        m.eval().requires_grad_(False)
        return m.decode
    return frozen_decoder(m)


# ----------------------------------------------------------------------------- stages


def timed(fn) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def stage_blocks(args, spins: np.ndarray, model: SpinVAE, hm: ChiralMagnet) -> dict:
    """name -> (callable(variant), default-run iterations per block, description, variants)."""
    z_relax = torch.as_tensor(prior_codes(args.relax_codes, model.latent_dim, 3))
    vae = dict(DEFAULT_VAE, epochs=1)

    def train(name):
        with variant(name):
            train_vae(spins, **vae, precision="fp32" if name == "before" else name.split("-")[1], progress=False)

    def relax(name):
        with variant(name):
            single_code(decoder_of(model, name), objective("energy", hm, "min"), z_relax,
                        iterations=args.relax_iters, lr=0.01)

    def gen(name):
        with variant(name):
            for obj, direction, pressure, seed in (("W", "max", 8.0, 4), ("energy", "min", 5.0, 5)):
                genetic(decoder_of(model, name), objective(obj, hm, direction), model.latent_dim,
                        population=args.population, generations=args.genetic_gens, selection_pressure=pressure,
                        mutation_rate=0.05, elitism=1, seed=seed)

    def stoch(name):
        with variant(name):
            stochastic(decoder_of(model, name), objective("energy", hm, "min"), model.latent_dim,
                       samples=args.samples, iterations=args.stochastic_iters, lr=0.05, gamma0=0.001,
                       gamma_every=200, sigma_tol=1e-30, seed=6)

    n_train = len(spins) - round(len(spins) * DEFAULT_VAE["val_fraction"])
    after = ["after"]
    return {"train_vae": (train, DEFAULT_ITERATIONS["train_vae"], f"1 epoch ({n_train} states)",
                          [f"after-{p}" for p in args.precision]),
            "relax": (relax, DEFAULT_ITERATIONS["relax"] / args.relax_iters, f"{args.relax_iters} iterations", after),
            "genetic": (gen, DEFAULT_ITERATIONS["genetic"] / args.genetic_gens,
                        f"2 runs x {args.genetic_gens} generations", after),
            "stochastic": (stoch, DEFAULT_ITERATIONS["stochastic"] / args.stochastic_iters,
                           f"{args.stochastic_iters} iterations", after)}


def run_stages(args) -> None:
    hm = ChiralMagnet.from_config(dict(DEFAULT_SYSTEM, L=args.L))
    if args.dataset:
        from latentopt.dataset import load_dataset
        spins = load_dataset(args.dataset)[0]["spins"][: args.n_states]
    else:
        spins = random_states(args.n_states, args.L, np.random.default_rng(0)).astype(np.float32)
    torch.manual_seed(0)
    model = SpinVAE(args.L, DEFAULT_VAE["latent_dim"]).eval()
    blocks = stage_blocks(args, spins, model, hm)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}, L={args.L}, {len(spins)} states; "
          f"load average at start {os.getloadavg()}")
    for name in args.stages:
        for v in blocks[name][3]:
            blocks[name][0](v)  # warm up (oneDNN kernel creation, thread pools)
    times = {name: {v: [] for v in ["before", *blocks[name][3]]} for name in args.stages}
    for r in range(args.repeats):
        for name in args.stages:
            order = list(times[name]) if r % 2 == 0 else list(times[name])[::-1]
            for v in order:
                times[name][v].append(timed(lambda: blocks[name][0](v)))
        print(f"  repeat {r + 1}/{args.repeats} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"\n{'stage':11s} {'block':28s} {'variant':12s} {'wall s':>8s} {'CPU s':>7s} {'ratio':>6s} "
          f"{'CPU ratio':>9s} {'-> default run s':>17s}")
    totals: dict[str, float] = {}
    for name in args.stages:
        t = {v: np.asarray(x) for v, x in times[name].items()}
        scale = blocks[name][1]
        for v, x in t.items():
            wall, cpu = float(np.median(x[:, 0])), float(np.median(x[:, 1]))
            ratio = "" if v == "before" else f"{np.median(t['before'][:, 0] / x[:, 0]):6.2f}"
            cpu_ratio = "" if v == "before" else f"{np.median(t['before'][:, 1] / x[:, 1]):9.2f}"
            print(f"{name:11s} {blocks[name][2]:28s} {v:12s} {wall:8.2f} {cpu:7.2f} {ratio:>6s} {cpu_ratio:>9s} "
                  f"{wall * scale:17.1f}")
            key = v if v == "before" else "after"
            totals[key] = totals.get(key, 0.0) + (wall * scale if v in ("before", "after") else 0.0)
            if v.startswith("after-"):
                totals[v] = wall * scale
    for p in args.precision:
        if "train_vae" in args.stages:
            after = totals.get("after", 0.0) + totals[f"after-{p}"]
            label = f"together, training in {p}"
        else:
            after, label = totals.get("after", 0.0), "together"
        print(f"{label:53s} {'':8s} {'':7s} {totals['before'] / after:6.2f} {'':9s} "
              f"{totals['before']:8.1f} -> {after:.1f}")
    print(f"load average at end {os.getloadavg()}")


# ----------------------------------------------------------------------------- quality


def relax_codes(model: SpinVAE, z: np.ndarray, hm: ChiralMagnet, iterations: int) -> np.ndarray:
    res = single_code(frozen_decoder(model), make_objective("energy", "min", hm), torch.as_tensor(z),
                      iterations=iterations, lr=0.01)
    return res.final["spins"]


def run_quality(args) -> None:
    if not args.dataset:
        sys.exit("quality: --dataset is required")
    from latentopt.dataset import load_dataset
    spins = load_dataset(args.dataset)[0]["spins"][: args.n_states]
    hm = ChiralMagnet.from_config(dict(DEFAULT_SYSTEM, L=spins.shape[-1]))
    print(f"{len(spins)} states of {spins.shape[1:]}, {torch.get_num_threads()} threads, epochs {args.epochs}, "
          f"load average {os.getloadavg()}", flush=True)
    rows = []
    for seed in args.seeds:
        for config in args.configs:
            w0, c0 = time.perf_counter(), time.process_time()
            with variant(config):
                model, hist = train_vae(spins, **dict(DEFAULT_VAE, seed=seed, epochs=args.epochs),
                                        precision="bf16" if config == "bf16" else "fp32", progress=False)
            row = dict(config=config, seed=seed, train_wall_s=time.perf_counter() - w0,
                       train_cpu_s=time.process_time() - c0)
            row.update(evaluate_model(model, hist, spins, hm, args.relax_steps, args.relax_codes))
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)
    summarize(rows)


def evaluate_model(model: SpinVAE, hist: dict, spins: np.ndarray, hm: ChiralMagnet, relax_steps: int,
                   n_codes: int) -> dict:
    """Quality figures of a trained model, all computed with today's float32 decoding."""
    x = spins[hist["val_indices"]]
    ssim = reconstruction_ssim(x, decode_codes(model, encode_mean(model, x)))
    z = prior_codes(n_codes, model.latent_dim, 3)  # generate: n_samples 100, seed 3
    m_vae = set_metrics(decode_codes(model, z), hm, -1.5)
    m_rel = set_metrics(relax_codes(model, z, hm, relax_steps), hm, -1.5)
    return dict(val_loss=hist["val_loss"][-1], val_rec=hist["val_reconstruction"][-1], train_loss=hist["loss"][-1],
                ssim=float(ssim.mean()), vae_energy=m_vae["energy_mean"], vae_nodal=m_vae["nodal_points_mean"],
                relaxed_energy=m_rel["energy_mean"], relaxed_nodal=m_rel["nodal_points_mean"])


def summarize(rows: list[dict]) -> None:
    keys = [k for k in rows[0] if k not in ("config", "seed")]
    print(f"\n{'config':8s} " + " ".join(f"{k:>16s}" for k in keys))
    for config in dict.fromkeys(r["config"] for r in rows):
        vals = [r for r in rows if r["config"] == config]
        cells = []
        for k in keys:
            v = np.asarray([r[k] for r in vals], dtype=float)
            cells.append(f"{v.mean():9.4g}±{v.std(ddof=1) if len(v) > 1 else 0.0:<6.2g}")
        print(f"{config:8s} " + " ".join(f"{c:>16s}" for c in cells))
    print("(mean ± sample std over seeds)")


def idle_worker_cpu(fn) -> float:
    """CPU seconds the process uses while its main thread sleeps 0.5 s right after ``fn()``."""
    fn()
    c0 = time.process_time()
    time.sleep(0.5)
    return time.process_time() - c0


def waitpolicy_child(args) -> None:
    """One process of the ``waitpolicy`` mode: time the evaluate job's numba/torch mix, print JSON."""
    import numba

    from latentopt.physics.hamiltonian import energy_density
    if args.child == "numba":
        os.environ["OMP_WAIT_POLICY"] = "passive"  # after import torch, before numba's first parallel call
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    hm = ChiralMagnet.from_config(dict(DEFAULT_SYSTEM, L=args.L))
    rng = np.random.default_rng(0)
    small = random_states(min(100, args.n_states), args.L, rng).astype(np.float32)
    big = torch.as_tensor(random_states(args.n_states, args.L, rng).astype(np.float32))
    torch.manual_seed(0)
    model = SpinVAE(args.L, DEFAULT_VAE["latent_dim"]).eval()
    z = prior_codes(min(120, args.n_states), model.latent_dim, 0)
    energy = make_objective("energy", "min", hm)
    out = {"numba": [], "torch": []}
    for _ in range(3):
        out["numba"].append(timed(lambda: set_metrics(small, hm, -1.5))[0])
        out["torch"].append(timed(lambda: (torch.cat([energy.value(c) for c in big.split(256)]),
                                           decode_codes(model, z)))[0])
    out["idle_after_numba"] = idle_worker_cpu(lambda: energy_density(small, hm))
    out["idle_after_torch"] = idle_worker_cpu(lambda: energy.value(big[:256]))
    print("RESULT " + json.dumps({k: float(np.sum(v)) for k, v in out.items()}))


def run_waitpolicy(args) -> None:
    import subprocess
    res: dict[str, list[dict]] = {"unset": [], "numba": [], "both": []}
    cmd = [sys.executable, __file__, "waitpolicy", "--threads", str(args.threads)] + (["--quick"] if args.quick else [])
    print(f"{args.threads} threads, {args.repeats} repeats; load average at start {os.getloadavg()}", flush=True)
    for r in range(args.repeats):
        for child in (res if r % 2 == 0 else list(res)[::-1]):
            proc = subprocess.run(cmd + ["--child", child], capture_output=True, text=True, check=True)
            res[child].append(json.loads(proc.stdout.split("RESULT ", 1)[1]))
    labels = {"unset": "OMP_WAIT_POLICY unset", "numba": "passive for numba only", "both": "passive for both"}
    print(f"{'':24s} {'numba part s':>12s} {'torch part s':>12s} {'idle CPU after numba s':>23s} "
          f"{'after torch s':>14s}")
    for child, rows in res.items():
        med = {k: float(np.median([r[k] for r in rows])) for k in rows[0]}
        print(f"{labels[child]:24s} {med['numba']:12.2f} {med['torch']:12.2f} {med['idle_after_numba']:23.3f} "
              f"{med['idle_after_torch']:14.3f}")
    print(f"load average at end {os.getloadavg()}")


def main() -> None:
    args = ARGS
    torch.set_num_threads(args.threads)
    args.L, args.n_states, args.relax_codes, args.population, args.samples = 64, 1200, 100, 100, 32
    if args.quick:
        args.L, args.n_states, args.relax_codes, args.population, args.samples = 16, 40, 8, 8, 4
        args.repeats, args.relax_iters, args.genetic_gens, args.stochastic_iters = 1, 2, 2, 2
        args.epochs, args.relax_steps = 1, 2
    if args.child:
        return waitpolicy_child(args)
    {"stages": run_stages, "quality": run_quality, "decode": run_decode, "waitpolicy": run_waitpolicy}[args.mode](args)


def run_decode(args) -> None:
    """The default run's decoder: decoded states, energies, W and relaxed energies, before vs after."""
    if args.model:
        model = load_model(args.model)
    else:
        torch.manual_seed(0)
        model = SpinVAE(args.L, DEFAULT_VAE["latent_dim"]).eval()
    hm = ChiralMagnet.from_config(dict(DEFAULT_SYSTEM, L=model.L))
    z = torch.as_tensor(prior_codes(args.relax_codes, model.latent_dim, 3))
    out = {}
    for name in ("before", "after"):
        with variant(name), torch.no_grad():
            s = decoder_of(model, name)(z)
            out[name] = dict(spins=s, energy=tp.energy_per_spin(s, hm), W=tp.topological_charge(s))
        with variant(name):
            res = single_code(decoder_of(model, name), objective("energy", hm, "min"), z, iterations=args.relax_steps,
                              lr=0.01)
            out[name]["relaxed"] = torch.as_tensor(res.final["values"])
            out[name]["history"] = torch.as_tensor(res.final["value_history"])
    b, a = out["before"], out["after"]
    with legacy():
        e_old_fn = tp.energy_per_spin(a["spins"], hm)

    def dmax(x, y):
        return float((x - y).abs().max())

    print(f"{len(z)} prior codes (seed 3), model {args.model or 'untrained'}:")
    print(f"  decoded states: max |after - before| per component {dmax(a['spins'], b['spins']):.2e}")
    print(f"  energy per spin of the decoded states: max |after - before| {dmax(a['energy'], b['energy']):.2e} "
          f"(mean {float(b['energy'].mean()):.6f}); energy function alone (same states) "
          f"{dmax(a['energy'], e_old_fn):.2e}")
    print(f"  W: max |after - before| {dmax(a['W'], b['W']):.2e}")
    h = (a["history"] - b["history"]).abs().max(dim=1).values
    print(f"  relax {args.relax_steps} steps: mean energy before {float(b['relaxed'].mean()):.6f}, after "
          f"{float(a['relaxed'].mean()):.6f}; max |after - before| per code {dmax(a['relaxed'], b['relaxed']):.2e}; "
          f"largest difference of the energy histories at steps 0, 10, 100, last: "
          + ", ".join(f"{float(h[i]):.1e}" for i in (0, 10, 100, -1) if -len(h) <= i < len(h)))


if __name__ == "__main__":
    main()
