"""The generator that the RUGAN trainer returns: a running average of its weights, with standing batch-norm statistics.

- :func:`update_average`: an exponential moving average of the generator weights, updated
  after every generator update (Yazici et al., "The unusual effectiveness of averaging in
  GAN training", ICLR 2019);
- :func:`recalibrate_batchnorm`: "standing statistics" (Brock, Donahue & Simonyan, ICLR
  2019): the batch-norm running statistics re-estimated for the current (or averaged)
  weights, instead of the lagging running averages collected during training.

Both are used by :func:`latentopt.trainers.gan.train_rugan`; the generator is called as
``generator(z, energies)`` (:class:`latentopt.models.rugan.RUGANGenerator`).
"""

from __future__ import annotations

import torch

from latentopt.models.rugan import RUGANGenerator

__all__ = ["recalibrate_batchnorm", "update_average"]


@torch.no_grad()
def recalibrate_batchnorm(generator: RUGANGenerator, z: torch.Tensor, energies: torch.Tensor,
                          batch_size: int = 64) -> None:
    """Replace the batch-norm running statistics by the population statistics of the current weights.

    "Standing statistics" (Brock et al., ICLR 2019): the running means and variances are
    reset and re-estimated as the cumulative average over the batches of ``(z, energies)``
    passed in train mode without gradients; afterwards the generator is in eval mode and
    its momenta are restored. The running averages collected during training lag the
    weights (and belong to the live, not the averaged, weights with ``ema``); this
    removes a bias of the eval-mode energies.

    Parameters
    ----------
    generator : RUGANGenerator
    z : Tensor, shape (m, noise_channels, h, w)
    energies : Tensor, shape (m,)
    batch_size : int
    """
    norms = [m for m in generator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    generator.train()
    for start in range(0, len(z), batch_size):
        generator(z[start:start + batch_size], energies[start:start + batch_size])
    for m, mom in zip(norms, momenta):
        m.momentum = mom
    generator.eval()


@torch.no_grad()
def update_average(avg: torch.nn.Module, live: torch.nn.Module, decay: float) -> None:
    """``avg <- decay * avg + (1 - decay) * live`` for the weights; buffers (batch-norm statistics) copied.

    Parameters
    ----------
    avg, live : torch.nn.Module
        Two networks of one architecture; ``avg`` is updated in place.
    decay : float
        In ``[0, 1)``; the average's memory is about ``1 / (1 - decay)`` updates.
    """
    for pa, pl in zip(avg.parameters(), live.parameters()):
        pa.mul_(decay).add_(pl, alpha=1.0 - decay)
    for ba, bl in zip(avg.buffers(), live.buffers()):
        ba.copy_(bl)
