"""Fokker-Planck equations on grids: conservative finite volumes with Scharfetter-Gummel fluxes
(see :mod:`.operator`), stationary states, time evolution and relaxation rates."""
from .grid import Grid
from .solver import FokkerPlanck

__all__ = ["Grid", "FokkerPlanck"]
