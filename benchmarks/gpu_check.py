"""GPU check: every kind's tiny study with ``device: cuda``, and per-stage throughput at paper scale.

Run it on a machine with a CUDA GPU::

    python benchmarks/gpu_check.py                 # device cuda, paper-scale stages, the tiny studies end to end
    python benchmarks/gpu_check.py --device cpu --quick

1. **Throughput** of the stages that dominate a paper-scale run, with the settings of
   ``config/paper.yaml`` (validated, so the schema's defaults are filled in): heat-bath spin
   updates per second at the ``paper`` study's L = 128 (the torch kernel on CUDA, numba on the
   CPU), spin-VAE training samples per second (``paper``), RUGAN generator steps per second
   (``rugan-paper``, each with ``n_critic`` critic steps) and jrVAE optimizer steps per second
   (``kl-mnist``, 28 px digits). Each stage runs briefly (a few sweeps, one short epoch) on
   random or generated inputs: throughput, not results.
2. **End to end**: the tiny study of every kind (``tests/data/tiny*.yaml``) through Snakemake
   with ``device`` set, in a scratch directory; prints the wall time.

``--quick`` shrinks every stage to seconds and replaces the workflow run by a dry run (the
test suite runs the tiny studies itself), so the script runs in CI and cannot rot.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the tiny configs' merge (tests/workflow_runs.py)


def paper_studies() -> dict:
    """The validated studies of ``config/paper.yaml``."""
    from latentopt.config import validate_config

    cfg = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    return validate_config(cfg, REPO / "workflow/schemas/config.schema.yaml", root=REPO)["studies"]


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def heatbath(studies: dict, device: str, quick: bool) -> tuple[str, float, float]:
    """Heat-bath spin updates per second (``paper`` system)."""
    from latentopt.physics.hamiltonian import ChiralMagnet
    from latentopt.physics.heatbath import anneal, geometric_schedule

    system = dict(studies["paper"]["system"], **({"L": 16} if quick else {}))
    model = ChiralMagnet.from_config(system)
    n, sweeps = (4, 2) if quick else (64, 10)
    temps = geometric_schedule(2.0, 0.01, sweeps)
    idx = np.arange(n)
    if device == "cuda":
        import torch

        from latentopt.physics import torch_heatbath

        run = lambda: torch_heatbath.anneal(model, idx, 1, temps, device="cuda", dtype=torch.float32)  # noqa: E731
    else:
        run = lambda: anneal(model, idx, 1, temps)  # noqa: E731
    run()  # compile / warm up
    t0 = time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    return f"L {model.L}, {n} states x {sweeps} sweeps", n * sweeps * model.L ** 2 / seconds, seconds


def spin_vae(studies: dict, device: str, quick: bool) -> tuple[str, float, float]:
    """Spin-VAE training samples per second (``paper`` vae block, one epoch)."""
    from latentopt.trainers.vae import train_vae

    L = 16 if quick else int(studies["paper"]["system"]["L"])
    vae = dict(studies["paper"]["vae"], epochs=1, val_fraction=0.0)
    n = 2 * int(vae["batch_size"]) if not quick else 16
    vae["batch_size"] = min(int(vae["batch_size"]), n)
    x = np.random.default_rng(0).normal(size=(n, 3, L, L))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    train_vae(x[: 2 * vae["batch_size"]], device=device, progress=False, **dict(vae, epochs=1))  # warm up
    t0 = time.perf_counter()
    _, history = train_vae(x, device=device, progress=False, **vae)
    _sync(device)
    seconds = time.perf_counter() - t0
    return f"L {L}, {n} states, batch {vae['batch_size']}", n / history["epoch_time"][0], seconds


def gan(studies: dict, device: str, quick: bool) -> tuple[str, float, float]:
    """RUGAN generator steps per second (``rugan-paper``; each step follows ``n_critic`` critic steps)."""
    from latentopt.physics.hamiltonian import ChiralMagnet, energy_per_spin
    from latentopt.studies.upscaling import train_gan

    study = studies["rugan-paper"]
    system = dict(study["system"], **({"L": 8} if quick else {}))
    g = dict(study["gan"], epochs=1)
    if quick:
        g.update(batch_size=16, n_critic=2, noise_channels=3, channels=4, out_channels=4, critic_channels=[4, 4, 4],
                 n_monitor=2)
    steps = 2 if quick else 10
    n = g["batch_size"] * g["n_critic"] * steps
    x = np.random.default_rng(0).normal(size=(n, 3, system["L"], system["L"]))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    data = {"spins": x.astype(np.float32), "energy": energy_per_spin(x, ChiralMagnet.from_config(system))}
    t0 = time.perf_counter()
    _, history = train_gan(data, system, g, device=device, progress=False)
    _sync(device)
    seconds = time.perf_counter() - t0  # with the batch-norm recalibration after training; the rate is the epoch's
    return f"L {system['L']}, batch {g['batch_size']}, n_critic {g['n_critic']}", steps / history["epoch_time"][0], seconds


def jrvae(studies: dict, device: str, quick: bool) -> tuple[str, float, float]:
    """jrVAE optimizer steps per second (``kl-mnist``, one epoch on 28 px digits)."""
    from latentopt.images import digits
    from latentopt.schedule_objective import model_hparams
    from latentopt.trainers.common import n_batches
    from latentopt.trainers.jrvae import train_jrvae

    jr = dict(studies["kl-mnist"]["jrvae"])
    size = 12 if quick else int(studies["kl-mnist"]["data"]["size"])
    images = digits(classes=tuple(range(10)), size=size, rotation=90, seed=0)["images"]
    images = images[: 2 * int(jr["batch_size"])] if not quick else images[:32]
    batch = min(int(jr["batch_size"]), len(images))
    t0 = time.perf_counter()
    train_jrvae(images, 1.0, float(jr["beta_d"]), model=model_hparams(jr), epochs=1, batch_size=batch,
                lr=float(jr["lr"]), seed=0, device=device)
    _sync(device)
    seconds = time.perf_counter() - t0
    steps = n_batches(len(images), batch)
    return f"{size} px, {len(images)} images, batch {batch}", steps / seconds, seconds


STAGES = {"heat bath (spin updates/s)": heatbath, "spin VAE training (samples/s)": spin_vae,
          "RUGAN (generator steps/s)": gan, "jrVAE (steps/s)": jrvae}


def tiny_studies(device: str, quick: bool, cores: int) -> str:
    """Every kind's tiny study with ``device`` through Snakemake (a dry run with ``quick``); a summary line."""
    from workflow_runs import all_tiny_studies, run_snakemake

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = all_tiny_studies(work / "tiny.yaml")
        cfg = yaml.safe_load(config.read_text())
        cfg["device"] = device
        config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        args = ["-n", "--quiet", "rules"] if quick else []
        t0 = time.perf_counter()
        proc = run_snakemake(work / "run", "--cores", str(cores), *args, config=config)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"tiny studies with device {device} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return f"tiny studies of every kind, device {device}: {'dry run' if quick else 'ran'} in {seconds:.0f} s"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    ap.add_argument("--quick", action="store_true", help="tiny sizes and a dry run of the studies (CI)")
    ap.add_argument("--cores", type=int, default=2, help="snakemake --cores for the tiny studies")
    args = ap.parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device (torch.cuda.is_available() is False); try --device cpu")
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"gpu_check on {where}; torch {torch.__version__}; {'quick sizes' if args.quick else 'paper scale'}")
    studies = paper_studies()
    print(f"{'stage':<32} {'size':<40} {'throughput':>12} {'seconds':>8}")
    for name, fn in STAGES.items():
        size, rate, seconds = fn(studies, args.device, args.quick)
        print(f"{name:<32} {size:<40} {rate:>12.4g} {seconds:>8.2f}")
    print(tiny_studies(args.device, args.quick, args.cores))


if __name__ == "__main__":
    main()
