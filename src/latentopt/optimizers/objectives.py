"""Objective functions of decoded states, evaluated batched on any torch device.

An :class:`Objective` maps states ``(n, 3, L, L)`` to values ``(n,)`` in their natural
sign (energy per spin in units of J, W, M_z, C(a), C_BC) and knows whether it is
maximised or minimised. Optimizers work with the *fitness* ``value`` (max) or ``-value``
(min), which is always maximised. The objectives are those of Park et al. (2022):
W and M_z (Fig. 4b-d), C and energy (Fig. 4e-g), C_BC (Fig. 5d).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from latentopt.physics import torch_physics as tp
from latentopt.physics.hamiltonian import ChiralMagnet

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
        ``fn(spins: Tensor (n, 3, L, L)) -> Tensor (n,)`` in the natural sign.
    """

    name: str
    direction: str
    fn: Callable[[torch.Tensor], torch.Tensor]

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
                   boundary: np.ndarray | None = None, device: torch.device | str = "cpu") -> Objective:
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

    Raises
    ------
    ValueError
        On an unknown name or direction, or ``C_BC`` without a boundary map.
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
    return Objective(name=name, direction=direction, fn=fn)
