"""Conservative finite-volume discretisation of the Itô Fokker-Planck operator.

``∂p/∂t = −∇·J``, ``J_i = a_i p − Σ_j ∂_j(D_ij p)`` with drift ``a`` (``a = −∇L`` for a
loss) and diffusion tensor ``D`` (Itô: the derivative acts on ``D p``; writing ``∇·(D∇p)``
instead would drop the noise-induced drift ``∂_j D_ij``).

Discretisation (cell averages on a :class:`~landscape_sde.fokker_planck.grid.Grid`):

- Diagonal part across a face between cells ``k`` and ``k+1`` along axis ``i``: the
  Scharfetter-Gummel flux for ``J = v q − ∂_i q`` with ``q = D_ii p`` and ``v = a_i / D_ii``
  frozen on the face, ``J = (B(−P) q_k − B(P) q_{k+1}) / h_i`` with ``B(x) = x / (eᵡ − 1)``
  and Péclet number ``P = v h_i``. For a loss, ``a_i h_i = −(L_{k+1} − L_k)`` (the potential
  difference), which makes ``exp(−L/T)`` an exact discrete steady state for constant ``D = T``.
  Second order for smooth coefficients; upwind-stable at any Péclet number.
- Cross terms ``−∂_j(D_ij p)``, ``j ≠ i``: on each face, the mean of two one-sided
  differences of ``q = D_ij p``, forward in one cell of the face and backward in the other,
  the pairing chosen by the sign of ``D_ij`` on that face (the "skewed" 7-point stencil of
  the mixed derivative). It is second order, and the operator stays an M-matrix (so the
  density stays positive) while ``|D_ij| ≤ D_jj h_i / h_j`` for every pair and the Péclet
  numbers are moderate; a central stencil is not positive even then. The solver reports the
  minimum density so that a violation is seen, never hidden. Differences that would reach
  beyond a reflecting box face are dropped; choose boxes on whose faces the density is
  negligible.
- Box faces of reflecting axes carry zero flux; periodic axes wrap. Every interior face flux
  leaves one cell and enters its neighbour, so columns of the operator sum to zero (times the
  cell volume): mass is conserved to round-off, whatever the coefficients.
- Absorbing (Dirichlet) box faces: ``p = 0`` on the face, half a cell from the centre of the
  cell beside it. The Scharfetter-Gummel flux over that half cell, with ``q = 0`` on the face,
  is an outflow ``B(∓P') D_ii p_k / (h_i/2)`` (upper/lower face, ``P' = a_i (h_i/2) / D_ii``
  with ``a_i h_i/2`` the drift at the face: half the potential difference of the last two
  cells for a potential, the drift evaluated on the face otherwise). It enters the operator
  as a loss on the diagonal (:func:`wall_losses`), so those columns sum to minus the
  outflow rate. Cross terms are not carried through an absorbing face (as at reflecting ones).
"""
import numpy as np
import scipy.sparse as sps


def bernoulli(x):
    """``B(x) = x / (eˣ − 1)``, ``B(0) = 1``, stable for all ``x``."""
    x = np.asarray(x, dtype=np.float64)
    out = np.ones_like(x)
    nz = x != 0
    with np.errstate(over="ignore"):
        out[nz] = x[nz] / np.expm1(x[nz])
    return out


def _neighbour(grid, axis, step):
    """Flat index of cell ``k + step·e_axis`` for every cell, and a mask of cells for which
    that neighbour exists (always, on periodic axes)."""
    idx = np.arange(grid.n_cells).reshape(grid.shape)
    shifted = np.roll(idx, -step, axis=axis)
    valid = np.ones(grid.shape, dtype=bool)
    if grid.boundary[axis] != "periodic":
        edge = [slice(None)] * grid.dim
        edge[axis] = slice(-1, None) if step > 0 else slice(0, 1)
        valid[tuple(edge)] = False
    return shifted.ravel(), valid.ravel()


def flux_matrices(grid, diffusion_centers, diffusion_faces, drift_h):
    """Per axis, the sparse matrix ``F_i`` with ``(F_i p)_k`` = flux through the face between
    cell ``k`` and ``k + e_i`` (zero rows for box faces of reflecting axes).

    Parameters
    ----------
    diffusion_centers : ndarray (n_cells, dim, dim)
        ``D`` at cell centres.
    diffusion_faces : list of ndarray (n_cells, dim, dim)
        ``D`` at the face centres of each axis (``Grid.face_centers``).
    drift_h : list of ndarray (n_cells,)
        ``a_i h_i`` on the faces of each axis: minus the potential difference for a loss.
    """
    n = grid.n_cells
    h = grid.spacing
    mats = []
    for i in range(grid.dim):
        kp, face = _neighbour(grid, i, +1)
        k = np.arange(n)[face]
        kp = kp[face]
        d_face = diffusion_faces[i][face, i, i]
        if np.any(d_face <= 0):
            m = int(np.argmax(d_face <= 0))
            raise ValueError(f"diffusion: D_{i}{i} must be positive on every face (axis {i}), "
                             f"got D_{i}{i} = {d_face[m]:g} on the face after cell {int(k[m])}")
        peclet = drift_h[i][face] / d_face
        rows = [k, k]
        cols = [k, kp]
        vals = [bernoulli(-peclet) * diffusion_centers[k, i, i] / h[i],
                -bernoulli(peclet) * diffusion_centers[kp, i, i] / h[i]]
        for j in range(grid.dim):
            if j == i or not np.any(diffusion_centers[:, i, j]):
                continue
            up, up_ok = _neighbour(grid, j, +1)
            dn, dn_ok = _neighbour(grid, j, -1)
            positive = diffusion_faces[i][face, i, j] >= 0
            # ∂_j q on the face, q = D_ij p: the mean of two one-sided differences on either side
            # of the face, chosen by the sign of D_ij so that the diagonal neighbours get
            # weights of the sign that keeps the operator an M-matrix (second order either way).
            # D_ij ≥ 0: forward in the plus cell, backward in the minus cell; D_ij < 0: mirrored.
            for cell, fwd in ((kp, positive), (k, ~positive)):
                a = np.where(fwd, up[cell], cell)  # difference q(a) − q(b)
                b = np.where(fwd, cell, dn[cell])
                ok = np.where(fwd, up_ok[cell], dn_ok[cell])  # missing beyond a reflecting box: 0
                for nb, sign in ((a, -1.0), (b, 1.0)):
                    rows.append(k[ok])
                    cols.append(nb[ok])
                    vals.append(sign * diffusion_centers[nb[ok], i, j] / (2 * h[j]))
        mats.append(sps.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=(n, n)))
    return mats


def zero_flux_log_ratios(grid, diffusion_centers, diffusion_faces, drift_h):
    """Per axis, ``log(p_{k+e_i} / p_k)`` that makes the Scharfetter-Gummel flux through the
    face between cells ``k`` and ``k + e_i`` vanish, and a mask of the faces that exist.

    With ``q = D_ii p`` the flux is ``(B(−P) q_k − B(P) q_{k+1}) / h_i``; since
    ``B(−P) = e^P B(P)`` it vanishes iff ``q_{k+1} / q_k = e^P``, so the ratio is
    ``P + log D_ii(k) − log D_ii(k+1)``, computed from ``P`` directly (``B(±P)`` themselves
    under- and overflow at large Péclet numbers; their ratio never does). Entries of faces
    that do not exist (box faces of reflecting axes) are 0 and masked out.
    """
    out = []
    for i in range(grid.dim):
        kp, face = _neighbour(grid, i, +1)
        d_face = diffusion_faces[i][:, i, i]
        d_c = diffusion_centers[:, i, i]
        with np.errstate(divide="ignore", invalid="ignore"):
            lr = drift_h[i] / d_face + np.log(d_c) - np.log(d_c[kp])
        out.append((np.where(face, lr, 0.0), face))
    return out


def divergence_matrices(grid):
    """Per axis, ``G_i`` with ``(G_i J)_k = (J_{k − e_i} − J_k) / h_i``: the change of cell
    ``k`` from the fluxes through its two faces along axis ``i``."""
    n = grid.n_cells
    mats = []
    for i in range(grid.dim):
        km, ok = _neighbour(grid, i, -1)
        cells = np.arange(n)
        rows = np.concatenate([cells, cells[ok]])
        cols = np.concatenate([cells, km[ok]])
        vals = np.concatenate([-np.ones(n), np.ones(ok.sum())]) / grid.spacing[i]
        mats.append(sps.csr_matrix((vals, (rows, cols)), shape=(n, n)))
    return mats


def wall_losses(grid, diffusion_centers, wall_drift_h):
    """Outflow rate per unit density of every cell through the absorbing box faces
    (``dp_k/dt −= rate_k p_k``), shape ``(n_cells,)``; zeros without absorbing faces.

    Parameters
    ----------
    diffusion_centers : ndarray (n_cells, dim, dim)
    wall_drift_h : list of (ndarray, ndarray)
        Per axis, ``a_i h_i / 2`` on the lower and on the upper box face of each cell (only
        the entries of cells beside that face are used).
    """
    rate = np.zeros(grid.n_cells)
    index = np.indices(grid.shape).reshape(grid.dim, -1)
    for i, (sides, h) in enumerate(zip(grid.sides, grid.spacing)):
        for side, wall, a_half in zip((0, 1), sides, wall_drift_h[i]):
            if wall != "absorbing":
                continue
            cells = index[i] == (0 if side == 0 else grid.shape[i] - 1)
            d = diffusion_centers[cells, i, i]
            peclet = a_half[cells] / d
            # outward: −e_i on the lower face (B(P')), +e_i on the upper face (B(−P'))
            rate[cells] += bernoulli(peclet if side == 0 else -peclet) * d * 2.0 / h ** 2
    return rate
