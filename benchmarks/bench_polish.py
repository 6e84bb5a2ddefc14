"""How close does a polished latent optimum come to the lowest single-q spiral? (spin studies, ``polish: true``)

For a trained spin study this repeats one optimize run (default ``genetic-energy``) over
several seeds, relaxes each run's best decoded state in spin space (the ``polish: true``
step) and prints, per seed, the run's own score of its best state (after ``relax_steps``
descent steps, if set), the decoded and polished energies per spin, the polished W and
the gap to the lowest single-q spiral that fits the lattice
(:func:`latentopt.physics.hamiltonian.lowest_commensurate_spiral`). It then asks whether the
latent space holds the spirals at all: each commensurate single-q spiral near the optimum
is encoded (the posterior mean), decoded and polished, and its code's distance from the
encoded training set is given in units of that set's per-dimension spread (about
``sqrt(latent_dim)`` for a typical training code).

Usage (after ``snakemake --cores 2 results/labyrinth/metrics.json``)::

    python benchmarks/bench_polish.py                       # labyrinth, genetic-energy, 8 seeds
    python benchmarks/bench_polish.py --run stochastic-energy --seeds 4
    python benchmarks/bench_polish.py --quick               # a tiny study trained here, in seconds
    python benchmarks/bench_polish.py --run stochastic-energy --seeds 3 --figure polished.png

``--quick`` trains a tiny VAE on a few annealed 16 x 16 states instead of reading results/.
``--figure PATH`` draws each seed's polished state above its structure factor, beside the
lowest single-q spiral, each titled with its gap and its two largest stars of wave vectors
(the share of ``S(q != 0)`` on the star ``(n_1, n_2)``,
:func:`latentopt.physics.structure_factor.star_shares`): a single-domain spiral puts all of it
on one star, a multi-domain state spreads it.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from latentopt.config import validate_config
from latentopt.io import read_h5
from latentopt.models.vae import load_model, save_model
from latentopt.physics.hamiltonian import (ChiralMagnet, commensurate_spiral_energy, energy_per_spin,
                                           lowest_commensurate_spiral)
from latentopt.physics.heatbath import anneal, geometric_schedule
from latentopt.physics.minimize import polish
from latentopt.physics.states import commensurate_spiral
from latentopt.physics.structure_factor import star_shares, structure_factor
from latentopt.studies.spins import optimize
from latentopt.trainers.vae import train_vae

REPO = Path(__file__).resolve().parents[1]


def quick_study(tmp: Path, cfg: dict) -> tuple[Path, np.ndarray]:
    """A tiny study: 32 annealed 16 x 16 states, a 4-dimensional VAE trained for 3 epochs; model path and states."""
    cfg["system"]["L"] = 16
    magnet = ChiralMagnet.from_config(cfg["system"])
    spins = anneal(magnet, np.arange(32), 0, geometric_schedule(2.0, 0.05, 40)).astype(np.float32)
    model, _ = train_vae(spins, latent_dim=4, beta=0.001, epochs=3, batch_size=8, lr=1e-3, val_fraction=0.25,
                         seed=0, progress=False, channels=(8, 16), hidden=32)
    save_model(tmp / "model.pt", model)
    cfg["optimize"]["genetic-energy"].update(population=8, generations=3)
    return tmp / "model.pt", spins


def draw_polished(path: Path, states: list[np.ndarray], titles: list[str], suptitle: str) -> None:
    """Polished states (top row) above ``log10 S(q)`` (bottom row, ``q = 0`` centred); one PNG."""
    from matplotlib.figure import Figure

    from latentopt.plots.common import draw_spins, save_figure

    n = len(states)
    fig = Figure(figsize=(2.6 * n, 5.6), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    for i, (state, title) in enumerate(zip(states, titles)):
        draw_spins(axes[0, i], state, title)
        sq = np.fft.fftshift(structure_factor(state))
        L = sq.shape[-1]
        axes[1, i].imshow(np.log10(sq + 1e-3), origin="lower", cmap="magma", vmin=-3,
                          extent=[-L // 2 - 0.5, L - L // 2 - 0.5] * 2)
        axes[1, i].set_xlabel("$n_x$ ($q = 2\\pi n / L$)")
        axes[1, i].set_xlim(-6.5, 6.5)
        axes[1, i].set_ylim(-6.5, 6.5)
    axes[1, 0].set_ylabel("$n_y$;  $\\log_{10} S(q)$")
    fig.suptitle(suptitle)
    save_figure(fig, path)


def star_label(state: np.ndarray, top: int = 2) -> str:
    """E.g. ``"(2,2) 64 %, (3,1) 30 %"``: a state's ``top`` stars of wave vectors and their shares of ``S(q != 0)``."""
    stars, shares = star_shares(structure_factor(state))
    return ", ".join(f"({a},{b}) {100 * w:.0f} %" for (a, b), w in zip(stars[:top], shares[:top]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(REPO / "config/config.yaml"))
    ap.add_argument("--study", default="labyrinth")
    ap.add_argument("--run", default="genetic-energy")
    ap.add_argument("--results", default=str(REPO / "results"), help="where the study's outputs are")
    ap.add_argument("--seeds", type=int, default=8, help="the run's seed and the next seeds - 1")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="a tiny study trained here (seconds)")
    ap.add_argument("--figure", default=None, metavar="PATH",
                    help="draw the polished states and their structure factors beside the lowest spiral")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = copy.deepcopy(validate_config(yaml.safe_load(Path(args.config).read_text()),
                                        REPO / "workflow/schemas/config.schema.yaml", root=REPO)["studies"][args.study])
    if args.quick:
        model_path, train = quick_study(Path(tempfile.mkdtemp(prefix="bench_polish_")), cfg)
        args.seeds = min(args.seeds, 2)
    else:
        root = Path(args.results) / args.study
        model_path = root / "vae/model.pt"
        if not model_path.exists():
            raise SystemExit(f"{model_path}: no trained model; run `snakemake --cores 2 {root}/metrics.json` first")
        train = read_h5(root / "data/dataset.h5", ["spins"])["spins"]
    run = dict(cfg["optimize"][args.run], polish=True)
    magnet = ChiralMagnet.from_config(cfg["system"])
    n_best, e_best = lowest_commensurate_spiral(magnet)
    print(f"study {args.study}, run {args.run} ({run['algorithm']}, {run['objective']} {run['direction']}), "
          f"L {magnet.L}: lowest single-q spiral n = {n_best}, {e_best:.6f} J per spin")

    print(f"{'seed':>5} {'scored':>10} {'decoded':>10} {'polished':>10} {'W':>4} {'gap':>9} {'s':>6}  stars (share of S(q))")
    gaps, states, titles = [], [], []
    for seed in range(run["seed"], run["seed"] + args.seeds):
        t0 = time.perf_counter()
        out, _ = optimize(model_path, cfg["system"], dict(run, seed=seed), root=REPO)
        decoded = float(energy_per_spin(out["best_spins"].astype(np.float64), magnet))
        gap = float(out["polished_energy"]) - e_best
        gaps.append(gap)
        states.append(out["polished_spins"].astype(np.float64))
        stars = star_label(states[-1])
        titles.append(f"seed {seed}: gap {gap:.2e} J\n{stars}")
        print(f"{seed:5d} {float(out['best_value']):10.6f} {decoded:10.6f} {float(out['polished_energy']):10.6f} "
              f"{round(float(out['polished_W'])):4d} "
              f"{gap:9.2e} {time.perf_counter() - t0:6.1f}  {stars}")
    print(f"gap to the single-q spiral: median {np.median(gaps):.2e}, best {min(gaps):.2e} J per spin")
    if args.figure:
        spiral = commensurate_spiral(magnet.L, n_best, magnet.dmi)
        draw_polished(Path(args.figure), states + [spiral],
                      titles + [f"lowest single-q spiral {n_best}\n{e_best:.5f} J per spin"],
                      f"{args.study}, {args.run}: polished best states (L = {magnet.L})")
        print(f"figure: {args.figure}")

    # does the latent space hold the spirals? encode, decode, polish
    vae = load_model(model_path)
    vae.eval()
    with torch.no_grad():
        mu = torch.cat([vae.encode(torch.as_tensor(train[i:i + 100]).float())[0] for i in range(0, len(train), 100)])
    centre, spread = mu.mean(0), mu.std(0)
    candidates = sorted({(a, b) for a in range(magnet.L // 2 + 1) for b in range(a + 1) if (a, b) != (0, 0)},
                        key=lambda n: commensurate_spiral_energy(magnet, n))[:3]
    print(f"\nspirals through the VAE (code distance in training-set spreads; typical training code "
          f"{float(((mu - centre) / spread).norm(dim=1).median()):.2f})")
    print(f"{'n':>8} {'exact':>10} {'decoded':>10} {'polished':>10} {'distance':>9}")
    for n in candidates:
        for m in {n, n[::-1]}:
            s = commensurate_spiral(magnet.L, m, magnet.dmi)
            with torch.no_grad():
                code = vae.encode(torch.as_tensor(s[None]).float())[0]
                decoded = vae.decode(code).double().numpy()
            pol = polish(decoded[0], magnet)
            print(f"{str(m):>8} {commensurate_spiral_energy(magnet, m):10.6f} "
                  f"{float(energy_per_spin(decoded, magnet)[0]):10.6f} {float(pol['polished_value']):10.6f} "
                  f"{float(((code[0] - centre) / spread).norm()):9.2f}")


if __name__ == "__main__":
    main()
