"""Objective functions of decoded states, evaluated batched on any torch device.

An :class:`Objective` maps states ``(n, 3, L, L)`` to values ``(n,)`` in their natural
sign (energy per spin in units of J, W, M_z, C(a), C_BC) and knows whether it is
maximised or minimised. Optimizers work with the *fitness* ``value`` (max) or ``-value``
(min), which is always maximised. The objectives are those of Park et al. (2022):
W and M_z (Fig. 4b-d), C and energy (Fig. 4e-g), C_BC (Fig. 5d).

With ``relax_steps > 0`` an objective is evaluated on each decoded state after that many
fixed-size projected-gradient steps of the energy in spin space
(:func:`latentopt.physics.minimize.descend`): a short relaxation that removes the decoder's
blur, which otherwise dominates the ranking. In the 64 x 64 labyrinth study a decoded
defect-free spiral is 7e-3 J per spin above its exact energy, more than the cost of a
stripe defect (~1e-3), and scores worse than the genetic algorithm's defected optimum
(-2.0375 vs -2.0392); after 3 steps the spirals score -2.0429 to -2.0431 and the defected
state -2.0419, the order of their relaxed energies. It is a Baldwinian memetic evaluation:
the codes are not changed, only how they are scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from latentopt.physics import torch_physics as tp
from latentopt.physics.hamiltonian import ChiralMagnet
from latentopt.physics.minimize import chiral_magnet_energy_fn, descend, descent_step

OBJECTIVES = ("energy", "W", "Mz", "C", "C_BC")
DIRECTIONS = ("max", "min")


@dataclass(frozen=True)
class Objective:
    """A scalar objective of a state and the direction to optimise it.

    Attributes
    ----------
    name : str
        One of :data:`OBJECTIVES`.
    direction : {"max", "min"}
    fn : callable
        ``fn(spins: Tensor (n, 3, L, L)) -> Tensor (n,)`` in the natural sign (including
        the relaxation, if any).
    relax_steps : int
        Descent steps applied to a state before it is scored (0: the state as decoded).
    """

    name: str
    direction: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    relax_steps: int = 0

    def value(self, spins: torch.Tensor) -> torch.Tensor:
        """Objective values ``(n,)`` in the natural sign."""
        return self.fn(spins)

    @property
    def sign(self) -> float:
        """+1 for maximisation, -1 for minimisation."""
        return 1.0 if self.direction == "max" else -1.0

    def fitness(self, spins: torch.Tensor) -> torch.Tensor:
        """``sign * value``: larger is better, shape ``(n,)``."""
        return self.sign * self.fn(spins)


def make_objective(name: str, direction: str, model: ChiralMagnet, *, a=(1, 0),
                   boundary: np.ndarray | None = None, device: torch.device | str = "cpu",
                   relax_steps: int = 0) -> Objective:
    """Build an :class:`Objective` by name.

    Parameters
    ----------
    name : {"energy", "W", "Mz", "C", "C_BC"}
        ``energy``: energy per spin (:func:`latentopt.physics.torch_physics.energy_per_spin`);
        ``W``: topological charge; ``Mz``: mean s_z; ``C``: correlation ``C(a)``;
        ``C_BC``: overlap with the boundary map ``boundary``.
    direction : {"max", "min"}
    model : ChiralMagnet
        Hamiltonian of the energy objective.
    a : (int, int)
        Lattice vector of ``C``.
    boundary : ndarray, shape (3, L, L), optional
        Boundary map, required for ``C_BC``.
    device : torch device
        Where the boundary map lives.
    relax_steps : int
        Score each state after this many steps of :func:`latentopt.physics.minimize.descend`
        of ``model``'s energy, step :func:`latentopt.physics.minimize.descent_step` (module
        docstring); 0 scores the state as given (Park et al. 2022).

    Raises
    ------
    ValueError
        On an unknown name or direction, ``C_BC`` without a boundary map, or negative
        ``relax_steps``.
    """
    if name not in OBJECTIVES:
        raise ValueError(f"objective: expected one of {OBJECTIVES}, got {name!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction: expected one of {DIRECTIONS}, got {direction!r}")
    if name == "energy":
        fn = lambda s: tp.energy_per_spin(s, model)  # noqa: E731
    elif name == "W":
        fn = tp.topological_charge
    elif name == "Mz":
        fn = tp.magnetization_z
    elif name == "C":
        a = (int(a[0]), int(a[1]))
        fn = lambda s: tp.correlation(s, a)  # noqa: E731
    else:
        if boundary is None:
            raise ValueError("objective C_BC: a boundary map is required (run setting 'boundary')")
        s_bc = torch.as_tensor(np.asarray(boundary), dtype=torch.float32, device=device)
        fn = lambda s: tp.boundary_correlation(s, s_bc)  # noqa: E731
    if int(relax_steps) < 0:
        raise ValueError(f"relax_steps: expected >= 0, got {relax_steps}")
    if relax_steps:
        energy_fn, step, score = chiral_magnet_energy_fn(model), descent_step(model), fn
        field = lambda s: tp.effective_field(s, model)  # noqa: E731  (closed form: no backward pass)
        fn = lambda s: score(descend(energy_fn, s, int(relax_steps), step, field_fn=field))  # noqa: E731
    return Objective(name=name, direction=direction, fn=fn, relax_steps=int(relax_steps))
