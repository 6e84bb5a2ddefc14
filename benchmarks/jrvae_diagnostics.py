"""Per-epoch diagnostics of a jrVAE training on the default KL-schedule data (issue 22).

Trains the jrVAE of the ``kl-schedule`` study (config/config.yaml) with a constant
``beta_c`` on the full image set and prints, after every epoch, on the whole set in
evaluation mode (``z_c = mu``, exact expectation over ``q(c|x)``): the reconstruction
term, the continuous KL (and the angle's share of it), the discrete KL, the mean entropy
of ``q(c|x)`` (``log D`` = uniform), the marginal class usage ``mean_x q(c|x)``, the
reconstruction spread over the classes (how much the decoder uses ``c``), and the class
accuracy of ``argmax q(c|x)``.

``--figure PATH`` instead trains three jrVAEs of the default study (``beta_d`` of the
config): constant ``beta_c = 1``; the cooldown schedule (``beta_c = 20`` for N/5 epochs,
linear to 1 at 3N/5, then 1 -- the ``cooldown`` family's shape, standing in for a zBO
result); and constant ``beta_c = 1`` at ``--beta-d-low``; and draws the per-epoch entropy of
``q(c|x)``, the discrete KL, the accuracy and the final loss terms (issue 22's figure).

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/jrvae_diagnostics.py \
        [--beta-c 1] [--cooldown 20] [--seed 3] [--discrete gumbel|enumerate] [--every 5] \
        [--set key=value ...] [--data key=value ...] [--data-block YAML] [--contrast k]
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/jrvae_diagnostics.py --figure jrvae_collapse.png
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from latentopt.manifold import accuracy
from latentopt.models.jrvae import JointVAE, jrvae_loss
from latentopt.schedule_objective import _temperature, model_hparams
from latentopt.studies.schedules import make_dataset
from latentopt.trainers.jrvae import _train_epoch


def diagnose(net: JointVAE, x: torch.Tensor, labels: np.ndarray) -> dict:
    """Loss terms and discrete-latent statistics of ``net`` on ``x`` (eval mode, no noise)."""
    net.eval()
    with torch.no_grad():
        _, rec, kl_c, kl_d = jrvae_loss(net, x, 0.0, 0.0, sample=False)
        mu, logvar, logits = net.encode(x)
        p = net.prior_logvar
        kl_dims = 0.5 * ((logvar.exp() + mu.pow(2)) * torch.exp(-p) - 1.0 - logvar + p).mean(0)
        q = torch.softmax(logits, 1)
        ent = -(q * torch.log(q.clamp_min(1e-12))).sum(1).mean()
        phi, shift, content = net.split(mu)
        D = net.discrete_dim
        nll = torch.stack([net.nll(x, net.decode_logits(content, net.one_hot(torch.full((len(x),), k)), phi, shift))
                           for k in range(D)])                              # (D, n)
        spread = (nll.max(0).values - nll.min(0).values).mean()
    return {"rec": float(rec), "kl_c": float(kl_c), "kl_angle": float(kl_dims[0]) if net.rotation else 0.0,
            "kl_d": float(kl_d), "entropy": float(ent), "usage": q.mean(0).numpy(),
            "hard_usage": np.bincount(q.argmax(1).numpy(), minlength=D) / len(x),
            "nll_spread": float(spread), "accuracy": accuracy(q.argmax(1).numpy(), labels)}


def cooldown(N: int, high: float, low: float) -> np.ndarray:
    """``high`` for ``N // 5`` epochs, linear to ``low`` at ``3 N // 5``, then ``low`` (shape of ``cooldown``)."""
    a, b = N // 5, 3 * N // 5
    beta = np.full(N, float(low))
    beta[:a] = high
    beta[a:b] = np.linspace(high, low, b - a)
    return beta


def trace(images: np.ndarray, labels: np.ndarray, jr: dict, beta_c: np.ndarray, every: int = 5,
          verbose: bool = True) -> list[dict]:
    """Train the jrVAE of block ``jr`` like :func:`latentopt.trainers.jrvae.train_jrvae` (same seeding, batches,
    noise) with the schedule ``beta_c``, diagnosing it every ``every`` epochs (and after the first and last)."""
    N = int(jr["epochs"])
    tau = _temperature(jr, N)
    bd = float(jr["beta_d"])
    torch.manual_seed(int(jr["seed"]))
    extra = {"rotation": bool(jr["rotation"])} if "rotation" in jr else {}  # --set rotation=false: no angle latent
    net = JointVAE(images.shape[1], images.shape[2], **model_hparams(jr), **extra)
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    opt = torch.optim.Adam(net.parameters(), lr=float(jr["lr"]), foreach=True)
    order = torch.Generator().manual_seed(int(jr["seed"]))
    noise = torch.Generator().manual_seed(int(jr["seed"]) + 0x9E3779B9)
    if verbose:
        print(f"{'ep':>3} {'tau':>5} {'b_c':>5} {'loss':>8} {'rec':>8} {'kl_c':>7} {'kl_ang':>7} {'kl_d':>7} "
              f"{'H(q)':>6} {'usage mean q':>18} {'usage argmax':>18} {'spread':>7} {'acc':>5}")
    out, t0 = [], time.perf_counter()
    for e in range(N):
        _train_epoch(net, opt, x, int(jr["batch_size"]), order, noise, torch.device("cpu"), float(beta_c[e]), bd,
                     float(tau[e]))
        if (e + 1) % every == 0 or e == 0 or e + 1 == N:
            s = diagnose(net, x, labels)
            s.update(epoch=e + 1, beta_c=float(beta_c[e]),
                     loss=s["rec"] + float(beta_c[e]) * s["kl_c"] + bd * s["kl_d"])
            out.append(s)
            if verbose:
                print(f"{e + 1:3d} {tau[e]:5.2f} {beta_c[e]:5.1f} {s['loss']:8.2f} {s['rec']:8.2f} {s['kl_c']:7.3f} "
                      f"{s['kl_angle']:7.3f} {s['kl_d']:7.4f} {s['entropy']:6.3f} "
                      f"{np.array2string(s['usage'], precision=2):>18} "
                      f"{np.array2string(s['hard_usage'], precision=2):>18} {s['nll_spread']:7.2f} "
                      f"{s['accuracy']:5.3f}", flush=True)
    if verbose:
        print(f"log D = {math.log(net.discrete_dim):.3f}; {time.perf_counter() - t0:.1f} s")
    return out


def figure(images: np.ndarray, labels: np.ndarray, jr: dict, beta_d_low: float, path: str) -> None:
    """The three runs of the module docstring, drawn to ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    N, D = int(jr["epochs"]), int(jr["discrete_dim"])
    runs = {f"constant beta_c = 1, beta_d = {jr['beta_d']:g}": (jr, np.ones(N)),
            f"cooldown 20 -> 1, beta_d = {jr['beta_d']:g}": (jr, cooldown(N, 20.0, 1.0)),
            f"constant beta_c = 1, beta_d = {beta_d_low:g}": ({**jr, "beta_d": beta_d_low}, np.ones(N))}
    res = {}
    for name, (block, beta) in runs.items():
        print(f"== {name}")
        res[name] = trace(images, labels, block, beta, every=1, verbose=False)
        last = res[name][-1]
        print(f"   final: rec {last['rec']:.2f}, kl_c {last['kl_c']:.3f} (angle {last['kl_angle']:.3f}), "
              f"kl_d {last['kl_d']:.4f}, H(q) {last['entropy']:.3f} (log D {math.log(D):.3f}), "
              f"rec + kl_c {last['rec'] + last['kl_c']:.2f}, loss at beta_c = 1, beta_d = {jr['beta_d']:g}: "
              f"{last['rec'] + last['kl_c'] + float(jr['beta_d']) * last['kl_d']:.2f}, "
              f"accuracy {last['accuracy']:.3f}", flush=True)
    fig, ax = plt.subplots(1, 4, figsize=(17, 3.8))
    for name, r in res.items():
        ep = [s["epoch"] for s in r]
        ax[0].plot(ep, [s["entropy"] / math.log(D) for s in r], label=name)
        ax[1].plot(ep, [s["kl_d"] for s in r])
        ax[2].plot(ep, [s["accuracy"] for s in r])
    ax[0].set(xlabel="epoch", ylabel="mean H(q(c|x)) / log D", title="discrete posterior (1 = uniform)")
    ax[1].set(xlabel="epoch", ylabel="KL(q(c|x) || U) [nats]", title="discrete KL (dotted: log D)")
    ax[1].axhline(math.log(D), color="k", lw=0.5, ls=":")
    ax[2].set(xlabel="epoch", ylabel="class accuracy of argmax q(c|x)", ylim=(0, 1), title="accuracy")
    ax[2].axhline(1 / D, color="k", lw=0.5, ls=":")
    ax[0].legend(fontsize=7)
    names = list(res)
    finals = [res[n][-1] for n in names]
    bd = float(jr["beta_d"])
    xs = np.arange(len(names))
    rk = np.array([f["rec"] + f["kl_c"] for f in finals])
    ref = rk.min() - 2.0
    ax[3].bar(xs, rk - ref, label="rec + KL_c (beta_c = 1)", color="C7")
    ax[3].bar(xs, bd * np.array([f["kl_d"] for f in finals]), bottom=rk - ref, label=f"{bd:g} KL_d", color="C3")
    ax[3].set_xticks(xs, [n.replace(", ", "\n") for n in names], fontsize=7)
    ax[3].set(ylabel=f"final loss - {ref:.1f} [nats / image]", title=f"loss at beta_c = 1, beta_d = {bd:g}")
    ax[3].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beta-c", type=float, default=1.0)
    ap.add_argument("--cooldown", type=float, default=None,
                    help="beta_c = this for N/5 epochs, linear to --beta-c at 3N/5, then --beta-c")
    ap.add_argument("--seed", type=int, default=None, help="jrvae.seed (default: the config's)")
    ap.add_argument("--discrete", default=None)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--set", nargs="*", default=[], help="jrvae block overrides key=value (YAML values)")
    ap.add_argument("--data", nargs="*", default=[], help="data block overrides key=value (YAML values)")
    ap.add_argument("--data-block", default=None, help="replace the data block (a YAML mapping)")
    ap.add_argument("--contrast", type=float, default=0.0, help="logistic contrast stretch of the images")
    ap.add_argument("--figure", default=None, help="draw the three-run figure to this path instead")
    ap.add_argument("--beta-d-low", type=float, default=0.3, help="the figure's third run's beta_d")
    args = ap.parse_args()
    torch.set_num_threads(1)
    study = yaml.safe_load(open("config/config.yaml"))["studies"]["kl-schedule"]
    jr = dict(study["jrvae"])
    for kv in args.set:
        k, v = kv.split("=", 1)
        jr[k] = yaml.safe_load(v)
    if args.seed is not None:
        jr["seed"] = args.seed
    if args.discrete:
        jr["discrete"] = args.discrete
    data = {k: v for k, v in study["data"].items() if k not in ("seed", "train_subset")}
    if args.data_block:
        data = yaml.safe_load(args.data_block)
    for kv in args.data:
        k, v = kv.split("=", 1)
        data[k] = yaml.safe_load(v)
    d = make_dataset(data, int(study["data"]["seed"]))
    images, labels = d["images"], d["labels"]
    if args.contrast:  # a logistic contrast stretch about 0.5 (MNIST-like near-binary strokes)
        images = (1 / (1 + np.exp(-args.contrast * (images - 0.5)))).astype(np.float32)
    print(f"n = {len(images)}, classes {np.unique(labels).tolist()}, data {data}, jrvae {jr}")
    if args.figure:
        figure(images, labels, jr, args.beta_d_low, args.figure)
        return
    N = int(jr["epochs"])
    beta = np.full(N, args.beta_c) if args.cooldown is None else cooldown(N, args.cooldown, args.beta_c)
    trace(images, labels, jr, beta, args.every)


if __name__ == "__main__":
    main()
