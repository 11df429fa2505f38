"""Registry of derivations: each derives a result with SymPy from its premises and checks it
against an independent numerical evaluation.

``python -m analysis.derivations [--latex] [NAME ...]`` runs them, prints each result with
PASS/FAIL and exits non-zero if any fails. Register a new one with :func:`derivation`; it
returns a :class:`Derivation` whose ``checks`` compare numbers computed two ways.

Registered here: the mini-batch covariance factors, the discrete Lyapunov
equation of SGD without and with heavy-ball momentum, the second-order drift of the SME, the
Euler-Maruyama stationary variance, the valley's adiabatic marginal and effective SGD-loss,
the mean loss under loss-dependent noise (SDE and discrete SGD), the product network's
invariant, and (§7) Yaida's relations with heavy-ball momentum, FDR2 under state-dependent noise,
the linear-learning identity, the deep-linear per-layer identity and the effective temperature
on quadratics; the entropy production of a stationary 2-D OU process (zero iff the noise
commutes with the curvature); (§8) the stability edge of Adam with a frozen preconditioner;
the catapult thresholds of the uv model; and (§9) the balance drift of label-noise SGD and the stationary moment of online SGD.
"""
import argparse
import dataclasses
import itertools
import sys

import numpy as np
import scipy.integrate
import sympy as sp

from analysis import stationary
from landscape_sde.noise import batch_noise_factor

REGISTRY = {}


@dataclasses.dataclass
class Check:
    """A number obtained two ways: ``derived`` (from the SymPy result) and ``numeric``."""

    what: str
    derived: float
    numeric: float
    rtol: float = 1e-10
    atol: float = 0.0

    @property
    def passed(self):
        return bool(np.all(np.isclose(self.derived, self.numeric, rtol=self.rtol, atol=self.atol)))


@dataclasses.dataclass
class Derivation:
    name: str
    premise: str
    result: sp.Basic
    checks: list

    @property
    def passed(self):
        return bool(self.checks) and all(c.passed for c in self.checks)


def identity(what, expr, seed=0):
    """Check that ``expr`` is identically zero: by ``simplify`` and, when it has no undefined
    functions, at three random points in (0.1, 0.9)^k."""
    residual = 0.0 if sp.simplify(expr) == 0 else 1.0
    if not expr.atoms(sp.core.function.AppliedUndef):
        free = sorted(expr.free_symbols, key=str)
        gen = np.random.default_rng(seed)
        for _ in range(3):
            point = dict(zip(free, gen.uniform(0.1, 0.9, len(free))))
            residual = max(residual, abs(complex(sp.N(expr.subs(point)))))
    return Check(what + " (identity)", 0.0, residual, atol=1e-12)


def expectation(expr, variables, moments):
    """``E[expr]`` for a polynomial in ``variables``, given ``moments``: a dict from each
    monomial that occurs (``1`` included) to its expectation."""
    poly = sp.Poly(sp.expand(expr), *variables)
    return sum(coef * moments[sp.Mul(*[s**k for s, k in zip(variables, m)])]
               for m, coef in poly.terms())


def derivation(func):
    """Register ``func() -> Derivation`` under its name."""
    REGISTRY[func.__name__] = func
    return func


# --- §2 mini-batch noise ------------------------------------------------------------------
@derivation
def minibatch_covariance_factor():
    N, b, S2 = sp.symbols("N b S_2", positive=True)
    # Centred per-sample values a_i (Σ a_i = 0, Σ a_i² = S2), batch sum over b draws.
    # i.i.d. indices: cross terms vanish, each draw contributes S2/N.
    var_sum_iid = b * S2 / N
    # b distinct indices: P(i ∈ B) = b/N, P(i, j ∈ B) = b(b−1)/(N(N−1)), Σ_{i≠j} a_i a_j = −S2.
    var_sum_distinct = b / N * S2 + b * (b - 1) / (N * (N - 1)) * (-S2)
    c_iid = sp.simplify(var_sum_iid / b**2 / (S2 / N))
    c_distinct = sp.factor(sp.simplify(var_sum_distinct / b**2 / (S2 / N)))
    checks = []
    g = np.random.default_rng(0).normal(size=(6, 2))
    C = np.cov(g.T, bias=True)
    for bb in range(1, 7):
        for replace, c in ((True, c_iid), (False, c_distinct)):
            batches = (itertools.product(range(6), repeat=bb) if replace
                       else itertools.combinations(range(6), bb))
            means = np.array([g[list(B)].mean(axis=0) for B in batches])
            exact = np.cov(means.T, bias=True)  # every batch equally likely: exact covariance
            factor = float(c.subs({N: 6, b: bb}))
            checks.append(Check(f"N=6, b={bb}, {'iid' if replace else 'distinct'}: Cov g_B",
                                factor * C, exact, rtol=1e-12, atol=1e-14))
    result = sp.Tuple(sp.Eq(sp.Symbol("c_b^iid"), c_iid), sp.Eq(sp.Symbol("c_b^distinct"), c_distinct))
    return Derivation("minibatch_covariance_factor",
                      "Cov g_B = c_b C; enumerate all batches of N = 6", result, checks)


# --- §4 discrete Lyapunov -------------------------------------------------------------------
@derivation
def sgd_discrete_lyapunov():
    eta, h, C, S = sp.symbols("eta h C S", positive=True)
    # θ' = (1 − ηh)θ − ηε with Var ε = C, ε independent of θ: stationarity of E θ².
    S_solution = sp.solve(sp.Eq(S, (1 - eta * h) ** 2 * S + eta**2 * C), S)[0]
    # Matrix form: S = (I − ηH) S (I − ηH) + η² C is HS + SH − ηHSH = ηC (symmetric 2×2).
    Hm = sp.Matrix(2, 2, sp.symbols("h11 h12 h12 h22"))
    Sm = sp.Matrix(2, 2, sp.symbols("s11 s12 s12 s22"))
    Cm = sp.Matrix(2, 2, sp.symbols("c11 c12 c12 c22"))
    eye = sp.eye(2)
    residual = sp.expand((eye - eta * Hm) * Sm * (eye - eta * Hm) + eta**2 * Cm - Sm
                         + eta * (Hm * Sm + Sm * Hm - eta * Hm * Sm * Hm - eta * Cm))
    checks = [identity("matrix form HS + SH − ηHSH = ηC", sum(residual))]
    gen = np.random.default_rng(1)
    for _ in range(3):
        hh, cc, ee = gen.uniform(0.2, 3), gen.uniform(0.1, 2), gen.uniform(0.05, 0.6)
        ee = min(ee, 1.9 / hh)
        checks.append(Check(f"h={hh:.3f}, C={cc:.3f}, η={ee:.3f} vs scipy discrete Lyapunov",
                            float(S_solution.subs({eta: ee, h: hh, C: cc})),
                            float(stationary.discrete_lyapunov([[hh]], [[cc]], ee)[0, 0])))
    return Derivation("sgd_discrete_lyapunov", "θ' = (1 − ηh)θ − ηε, Var ε = C",
                      sp.Eq(S, sp.factor(S_solution)), checks)


@derivation
def sgd_momentum_lyapunov():
    eta, h, C, mu = sp.symbols("eta h C mu", positive=True)
    a, c, d = sp.symbols("a c d")  # E θ², E θv, E v²
    # v' = μv − η(hθ + ε), θ' = θ + v' = (1 − ηh)θ + μv − ηε.
    th, v, eps = sp.symbols("theta v epsilon")
    v_new = mu * v - eta * (h * th + eps)
    th_new = th + v_new
    moments = {th**2: a, th * v: c, v**2: d, eps**2: C, th * eps: 0, v * eps: 0}
    expect = lambda e: expectation(e, (th, v, eps), moments)  # noqa: E731

    sol = sp.solve([sp.Eq(a, expect(th_new**2)), sp.Eq(c, expect(th_new * v_new)),
                    sp.Eq(d, expect(v_new**2))], [a, c, d], dict=True)[0]
    var_theta = sp.factor(sp.simplify(sol[a]))
    checks = [identity("μ = 0 gives ηC/(h(2 − ηh))",
                       var_theta.subs(mu, 0) - eta * C / (h * (2 - eta * h)))]
    gen = np.random.default_rng(2)
    for _ in range(3):
        hh, cc, ee, mm = gen.uniform(0.2, 3), gen.uniform(0.1, 2), gen.uniform(0.05, 0.6), gen.uniform(0, 0.9)
        ee = min(ee, 1.9 * (1 + mm) / hh)
        checks.append(Check(f"h={hh:.3f}, C={cc:.3f}, η={ee:.3f}, μ={mm:.3f} vs scipy",
                            float(var_theta.subs({eta: ee, h: hh, C: cc, mu: mm})),
                            float(stationary.discrete_lyapunov([[hh]], [[cc]], ee, mm)[0, 0])))
    return Derivation("sgd_momentum_lyapunov", "heavy ball v' = μv − η(hθ + ε), θ' = θ + v'",
                      sp.Eq(sp.Symbol("Var θ"), var_theta), checks)


# --- §3 modified equations ------------------------------------------------------------------
@derivation
def sme_second_order_drift():
    theta, eta = sp.symbols("theta eta")
    L = sp.Function("L")
    f = sp.diff(L(theta), theta)
    b1 = sp.Function("b1")(theta)
    drift = -f + eta * b1
    # Flow of dθ/dt = drift over time η, to O(η²): θ + η·drift + (η²/2) drift'·drift.
    flow = theta + eta * drift + eta**2 / 2 * sp.diff(drift, theta) * drift
    gd = theta - eta * f
    coeff = sp.expand(flow - gd).coeff(eta, 2)
    b1_solution = sp.solve(sp.Eq(coeff, 0), b1)[0]
    checks = [identity("b1 = −(1/4) d/dθ (L')²",
                       b1_solution + sp.Rational(1, 4) * sp.diff(f**2, theta))]
    # Numbers: one GD step against the modified flow, L = θ⁴/4 + θ²/2 at θ = 0.8. The local
    # error is O(η²) with the first-order drift and O(η³) with the correction: halving η
    # divides it by 4 and by 8.
    Lnum = lambda t: t**4 / 4 + t**2 / 2  # noqa: E731
    fp = sp.lambdify(theta, sp.diff(Lnum(theta), theta))
    fpp = sp.lambdify(theta, sp.diff(Lnum(theta), theta, 2))

    def local_error(step, corrected):
        rhs = lambda t, y: [-fp(y[0]) - (0.5 * step * fpp(y[0]) * fp(y[0]) if corrected else 0.0)]  # noqa: E731
        sol = scipy.integrate.solve_ivp(rhs, (0, step), [0.8], rtol=1e-13, atol=1e-15, method="DOP853")
        return abs(sol.y[0, -1] - (0.8 - step * fp(0.8)))

    for corrected, order in ((False, 2), (True, 3)):
        e1, e2 = local_error(0.02, corrected), local_error(0.01, corrected)
        checks.append(Check(f"local error order, {'with' if corrected else 'without'} correction",
                            float(order), float(np.log2(e1 / e2)), rtol=0.05))
    return Derivation("sme_second_order_drift", "GD step θ − ηL' matched by a flow to O(η³)",
                      sp.Eq(b1, b1_solution), checks)


@derivation
def euler_maruyama_variance():
    h, T, dt, V = sp.symbols("h T dt V", positive=True)
    # θ' = (1 − h dt)θ + √(2T dt) ξ: stationarity of E θ².
    V_solution = sp.solve(sp.Eq(V, (1 - h * dt) ** 2 * V + 2 * T * dt), V)[0]
    target = T / (h * (1 - h * dt / 2))
    checks = [identity("equals T / (h (1 − h dt/2))", V_solution - target),
              identity("dt → 0 gives Boltzmann T/h", sp.limit(V_solution, dt, 0) - T / h)]
    for hh, TT, dd in ((2.0, 0.5, 0.25), (0.7, 1.3, 0.9)):
        checks.append(Check(f"h={hh}, T={TT}, dt={dd} vs scipy discrete Lyapunov",
                            float(V_solution.subs({h: hh, T: TT, dt: dd})),
                            float(stationary.euler_maruyama_covariance([[hh]], [[TT]], dd)[0, 0])))
    return Derivation("euler_maruyama_variance", "θ' = (1 − h dt)θ + √(2T dt) ξ",
                      sp.Eq(V, sp.factor(V_solution)), checks)


# --- §5 flat minima ----------------------------------------------------------------------------
@derivation
def valley_adiabatic_marginal():
    x, y, delta, kappa = sp.symbols("x y Delta kappa", positive=True)
    lam = sp.Function("lambda", positive=True)(x)
    d_x, d_y = delta / kappa, delta
    # Fast y: OU in the potential ½ λ y² with noise D_y: P(y|x) = N(0, D_y/λ), ⟨y²⟩ = D_y/λ.
    y_var = d_y / lam
    # Slow x: averaged drift −½ λ' ⟨y²⟩, noise D_x; zero flux: p = D_x⁻¹ exp(∫ drift / D_x).
    drift = -sp.diff(lam, x) * y_var / 2
    log_px = sp.integrate(sp.simplify(drift / d_x), x)
    flat = lam ** sp.Rational(-1, 2)
    checks = [identity("ln p(x) = κ ln F + const", sp.simplify(sp.diff(log_px - kappa * sp.log(flat), x)))]
    # L_SGD = −Δ ln P(x, y) − L with P = p(x) N(y; 0, Δ/λ): a function of x only.
    log_joint = log_px - y**2 / (2 * y_var) + sp.log(sp.sqrt(1 / (2 * sp.pi * y_var)))
    l_sgd = sp.simplify(-delta * log_joint - lam * y**2 / 2)
    checks.append(identity("L_SGD = −(κ − 1) Δ ln F + const",
                           sp.simplify(sp.diff(l_sgd + (kappa - 1) * delta * sp.log(flat), x))))
    # Numbers: the Fokker-Planck marginal on the cosine valley against F^κ.
    import landscape_sde as lsde
    from landscape_sde.fokker_planck import FokkerPlanck, Grid
    from models import Valley
    v = Valley(delta=0.01, kappa=4.0)
    grid = Grid([0, -0.6], [2 * np.pi, 0.6], (64, 96), boundary=("periodic", "reflecting"))
    px = grid.marginal(FokkerPlanck.from_model(v, lsde.AnisotropicLangevin(0.01), grid).stationary(), 0)
    pred = v.flatness(grid.axes()[0]) ** 4.0
    pred /= pred.sum() * grid.spacing[0]
    checks.append(Check("FP marginal vs F^κ (cosine valley, Δ = 0.01, κ = 4; 1% adiabatic error)",
                        pred, px, rtol=0.01))
    return Derivation("valley_adiabatic_marginal", "L = ½ λ(x) y², noise Δ/κ along, Δ across",
                      sp.Eq(sp.Symbol("L_SGD"), -(kappa - 1) * delta * sp.log(sp.Symbol("F"))), checks)


@derivation
def finite_sum_valley_noise():
    x, y, s_x, s_y, s_r = sp.symbols("x y sigma_x sigma_y sigma_r", real=True)
    u, v, r = sp.symbols("u v r")  # per-sample modes: mean 0, variance 1, mutually orthogonal
    lam = 1 + sp.cos(x) / 2
    loss = lam * (1 + s_r * r) * y**2 / 2 + s_y * u * y + s_x * v * x
    g = [sp.diff(loss, x), sp.diff(loss, y)]
    moments = {1: 1, u: 0, v: 0, r: 0, u**2: 1, v**2: 1, r**2: 1, u * v: 0, u * r: 0, v * r: 0}
    expect = lambda e: expectation(e, (u, v, r), moments)  # noqa: E731

    mean = [expect(gi) for gi in g]
    C = sp.Matrix(2, 2, lambda i, j: sp.simplify(expect((g[i] - mean[i]) * (g[j] - mean[j]))))
    L = lam * y**2 / 2
    checks = [identity("C_yy = σ_y² + 2 λ σ_r² L", C[1, 1] - (s_y**2 + 2 * lam * s_r**2 * L)),
              identity("mean gradient = ∇(½ λ y²)", mean[0] - sp.diff(L, x) + mean[1] - sp.diff(L, y))]
    # Numbers: the compiled per-sample covariance of models.FiniteSumValley (DCT modes, N = 16).
    import landscape_sde as lsde
    from models import FiniteSumValley
    fv = FiniteSumValley(sigma_x=0.5, sigma_y=1.0, sigma_r=0.3, n_samples=16)
    pts = np.random.default_rng(3).uniform(-1, 1, size=(3, 2))
    numeric = lsde.fields.sample_covariances(fv, pts)
    values = {s_x: 0.5, s_y: 1.0, s_r: 0.3}
    for pt, cn in zip(pts, numeric):
        derived = np.array(C.subs({**values, x: pt[0], y: pt[1]}), dtype=float)
        checks.append(Check(f"C at θ = ({pt[0]:.2f}, {pt[1]:.2f}) vs compiled kernels", derived, cn,
                            rtol=1e-10, atol=1e-12))
    return Derivation("finite_sum_valley_noise",
                      "ℓ_n = ½ λ(x)(1 + σ_r r_n) y² + σ_y u_n y + σ_x v_n x", sp.Eq(sp.Symbol("C"), C), checks)


@derivation
def loss_dependent_mean_loss():
    lam, d0, alpha, eta, c_b, s_y, s_r = sp.symbols("lambda D_0 alpha eta c_b sigma_y sigma_r", positive=True)
    m = sp.Symbol("m")  # ⟨y²⟩
    # SDE: dy = −λ y dt + √(2(D_0 + α λ y²/2)) dW; d⟨y²⟩/dt = −2λ⟨y²⟩ + 2⟨D⟩ = 0.
    m_sde = sp.solve(sp.Eq(-2 * lam * m + 2 * (d0 + alpha * lam * m / 2), 0), m)[0]
    L_sde = sp.simplify(lam * m_sde / 2)
    # SGD: y' = y − η(λ(1 + σ_r r_B) y + σ_y u_B), Var r_B = Var u_B = c_b, r ⟂ u.
    m_sgd = sp.solve(sp.Eq(m, ((1 - eta * lam) ** 2 + eta**2 * lam**2 * s_r**2 * c_b) * m
                           + eta**2 * s_y**2 * c_b), m)[0]
    subs = {s_y: sp.sqrt(2 * d0 / (eta * c_b)), s_r: sp.sqrt(alpha / (eta * c_b * lam))}
    L_sgd = sp.simplify((lam * m_sgd / 2).subs(subs))
    checks = [identity("SDE: ⟨L⟩ = D_0/(2 − α)", L_sde - d0 / (2 - alpha)),
              identity("SGD: ⟨L⟩ = D_0/(2 − ηλ − α)", L_sgd - d0 / (2 - eta * lam - alpha))]
    # Numbers: the discrete second-moment recursion with the batch average over all b-subsets
    # of the finite-sum valley's r_n, u_n (N = 16, b = 3), iterated to its fixed point.
    from models import FiniteSumValley
    fv = FiniteSumValley(sp.Integer(1), sigma_x=0.5, sigma_y=1.0, sigma_r=1.2, n_samples=16)
    u, r = fv.data[0], fv.data[2]
    batches = np.array(list(itertools.combinations(range(16), 3)))
    rb, ub = r[batches].mean(axis=1), u[batches].mean(axis=1)
    e_lr = 0.3
    # m' = E_B[(1 − η(1 + σ_r r_B))²] m + E_B[(η u_B)²]; the term in ⟨y⟩ vanishes at stationarity
    a = np.mean((1 - e_lr * (1 + 1.2 * rb)) ** 2)
    m_num = np.mean((e_lr * ub) ** 2) / (1 - a)
    d0n, _, alphan = fv.sme_parameters(e_lr, 3)
    derived = float((d0 / (2 - eta * lam - alpha)).subs({d0: d0n, alpha: alphan, eta: e_lr, lam: 1}))
    checks.append(Check("enumerated batches (N = 16, b = 3, η = 0.3) vs D_0/(2 − ηλ − α)",
                        derived, m_num / 2, rtol=1e-10))
    return Derivation("loss_dependent_mean_loss", "D_y = D_0 + α L on curvature λ",
                      sp.Tuple(sp.Eq(sp.Symbol("⟨L⟩_SDE"), L_sde),
                               sp.Eq(sp.Symbol("⟨L⟩_SGD"), d0 / (2 - eta * lam - alpha))), checks)


@derivation
def product_network_invariant():
    w1, w2, eta, e = sp.symbols("w1 w2 eta e_B")
    # Batch gradient of (1/2b) Σ (w1 w2 x − y)²: (e_B w2, e_B w1) with e_B = mean((w1w2x − y)x).
    n1, n2 = w1 - eta * e * w2, w2 - eta * e * w1
    ratio = sp.factor(sp.expand(n1**2 - n2**2) / (w1**2 - w2**2))
    checks = [identity("w1'² − w2'² = (1 − η² e_B²)(w1² − w2²)", ratio - (1 - eta**2 * e**2))]
    # Numbers: one SGD step of the compiled engine from a point off the valley.
    import landscape_sde as lsde
    from models import ProductNetwork
    net = ProductNetwork(rng=0)
    w = np.array([1.7, 0.3])
    ens = lsde.simulate(net, lsde.GD(0.1), w, n_steps=1)
    g = net.grad(w)
    e_num = g[0] / w[1]
    w_new = ens.theta[-1, 0]
    checks.append(Check("one GD step of the engine", float(ratio.subs({eta: 0.1, e: e_num})),
                        float((w_new[0] ** 2 - w_new[1] ** 2) / (w[0] ** 2 - w[1] ** 2)), rtol=1e-12))
    return Derivation("product_network_invariant", "w ← w − η ∇L_B on ½(w1 w2 x − y)²",
                      sp.Eq(sp.Symbol("Δ(w1² − w2²)/(w1² − w2²)"), ratio - 1), checks)


@derivation
def catapult_uv_thresholds():
    eta, m, y = sp.symbols("eta m y", positive=True)
    f, lam, a, b = sp.symbols("f lambda a b", real=True)
    # uv model f = uᵀv/√m, λ = (‖u‖² + ‖v‖²)/m (the NTK), loss ½(f − y)². A GD step
    # u' = u − (ηr/√m) v, v' = v − (ηr/√m) u closes on a = ‖u‖², b = ‖v‖², c = uᵀv = √m f.
    r = f - y
    s = eta * r / sp.sqrt(m)
    c = sp.sqrt(m) * f
    a1, b1, c1 = a - 2 * s * c + s**2 * b, b - 2 * s * c + s**2 * a, c - s * (a + b) + s**2 * c
    f1 = sp.expand(c1 / sp.sqrt(m)).subs(a, lam * m - b)
    lam1 = sp.expand((a1 + b1) / m).subs(a, lam * m - b)
    checks = [identity("f' = f − ηλr + η²r²f/m", f1 - (f - eta * lam * r + eta**2 * r**2 * f / m)),
              identity("λ' = λ + (ηr/m)(ηλr − 4f)", lam1 - (lam + eta * r / m * (eta * lam * r - 4 * f)))]
    x = sp.Symbol("x", positive=True)  # x = ηλ
    # y = 0: as m → ∞ (λ frozen) f' = (1 − x) f; the loss falls at every step iff (1 − x)² < 1
    lower = max(sp.solve(sp.Eq((1 - x) ** 2, 1), x))
    # λ' − λ = (η f²/m)(x − 4): λ falls (and x with it, back below 2) iff x < 4
    growth = sp.factor(sp.simplify((lam1 - lam).subs(y, 0).subs(eta, x / lam)))
    upper = sp.solve(sp.Eq(growth / (x * f**2 / (lam * m)), 0), x)[0]
    checks.append(identity("λ' − λ = (η f²/m)(ηλ − 4) at y = 0", growth - x * f**2 / (lam * m) * (x - 4)))

    def phase(ratio, width=10**6, steps=20000):
        # iterate the exact map from f = 1, λ = 1 (η = ratio): 0 monotone, 1 catapult, 2 divergent
        fv, lv, rose = 1.0, 1.0, False
        for _ in range(steps):
            fn = fv * (1 - ratio * lv + ratio**2 * fv**2 / width)
            lv = lv + ratio * fv**2 / width * (ratio * lv - 4)
            rose |= fn * fn > fv * fv
            fv = fn
            if not abs(fv) < 1e6:
                return 2
        return 1 if rose else 0

    def edge(level, lo, hi):
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if phase(mid) < level else (lo, mid)
        return 0.5 * (lo + hi)

    checks.append(Check("lower threshold: bisection of the exact map, m = 1e6", float(lower),
                        edge(1, 1.5, 2.5), rtol=1e-3))
    checks.append(Check("upper threshold: bisection of the exact map, m = 1e6", float(upper),
                        edge(2, 3.0, 5.0), rtol=2e-2))
    # the engine: one GD step on the two-layer linear network [1, m, 1] (m = 1 in the formulas:
    # the standard parameterisation), from a random point with y = 0.7
    from analysis.catapult import uv_model
    net = uv_model(7, y=0.7)
    theta = np.random.default_rng(0).normal(size=net.dim)
    u, v = theta[:7], theta[7:]
    after = _engine_step(net, theta, 0.05)
    subs = {eta: 0.05, m: 1, y: 0.7, f: float(u @ v), lam: float(u @ u + v @ v)}
    checks.append(Check("f' against one GD step of the engine", float(f1.subs(subs).subs(b, v @ v)),
                        float(after[:7] @ after[7:]), rtol=1e-12))
    checks.append(Check("λ' against one GD step of the engine", float(lam1.subs(subs).subs(b, v @ v)),
                        float(after @ after), rtol=1e-12))
    return Derivation("catapult_uv_thresholds",
                      "GD on ½(uᵀv/√m − y)²; phases of ηλ₀ at y = 0, m → ∞",
                      sp.Tuple(sp.Eq(sp.Symbol("f'"), sp.factor(f1.subs(a, 0))),
                               sp.Eq(sp.Symbol("λ'"), lam + eta * r / m * (eta * lam * r - 4 * f)),
                               sp.Eq(sp.Symbol("(ηλ₀)_catapult"), lower),
                               sp.Eq(sp.Symbol("(ηλ₀)_max"), upper)), checks)


def _engine_step(model, theta, lr):
    """One GD step of the engine from ``theta``."""
    import landscape_sde as lsde
    return lsde.simulate(model, lsde.GD(lr), theta, n_steps=1).theta[-1, 0]


# --- §7 fluctuation-dissipation -----------------------------------------------------------
def _quadratic_moments(H, Sigma, lr, mu):
    """Exact stationary second moments of heavy-ball SGD on ½θᵀHθ with additive noise Σ:
    ``(⟨θθᵀ⟩, ⟨θvᵀ⟩, ⟨vvᵀ⟩)`` from the discrete Lyapunov equation of the state (θ, v)."""
    d = H.shape[0]
    P = stationary.discrete_lyapunov(H, Sigma, lr, mu, joint=True)
    return P[:d, :d], P[:d, d:], P[d:, d:]


@derivation
def fdr_momentum():
    eta, mu = sp.symbols("eta mu", positive=True)
    # Scalar (trace) form: moments of the dot products at stationarity; g = g_B at θ = θ_k,
    # v = v_k. E[θ·g] = ⟨θ·∇L⟩ = G and E[v·g] = ⟨v·∇L⟩ = Q (the batch is fresh), ⟨‖g_B‖²⟩ = S.
    th, v, g = sp.symbols("theta v g")
    A, X, V, G, Q, S = sp.symbols("A X V G Q S")
    v_new = mu * v - eta * g
    th_new = th + v_new
    moments = {th**2: A, th * v: X, v**2: V, th * g: G, v * g: Q, g**2: S}
    expect = lambda e: expectation(e, (th, v, g), moments)  # noqa: E731
    eqs = [sp.Eq(A, expect(th_new**2)), sp.Eq(X, expect(th_new * v_new)), sp.Eq(V, expect(v_new**2))]
    sol = sp.solve(eqs, [X, G, V], dict=True)[0]
    G_g = sp.factor(sol[G])
    G_v = sp.factor(G_g.subs(S, sp.solve(eqs[2], S)[0]))  # eliminate ⟨‖g_B‖²⟩ by stationarity of v·v
    checks = [identity("⟨θ·∇L⟩ = (1 + μ)/(2η) ⟨‖v‖²⟩", G_v - (1 + mu) / (2 * eta) * V),
              identity("⟨θ·∇L⟩ = η⟨‖g_B‖²⟩/(2(1 − μ)) − μ⟨v·∇L⟩/(1 − μ)",
                       G_g - (eta * S / (2 * (1 - mu)) - mu * Q / (1 - mu))),
              identity("μ = 0: Yaida's (η/2)⟨‖g_B‖²⟩", G_g.subs(mu, 0) - eta * S / 2)]
    # Stationarity of L on a quadratic L = ½ h θ²: θ_{k−1} = θ_k − v_k and ⟨L(θ_k)⟩ = ⟨L(θ_{k−1})⟩
    # give ⟨v·∇L⟩ = ½ h ⟨v²⟩ (the term that keeps the g_B form from being g_B-only).
    hq = sp.Symbol("h", positive=True)
    Lq = lambda t: hq * t**2 / 2  # noqa: E731
    balance = sp.expand(Lq(th) - Lq(th - v))  # must average to zero
    Q_L = sp.solve(sp.Eq(expectation(balance, (th, v), {th * v: Q / hq, v**2: V}), 0), Q)[0]
    checks.append(identity("stationarity of L (quadratic): ⟨v·∇L⟩ = ½ h ⟨v²⟩", Q_L - hq * V / 2))
    # Matrix form, 2 × 2: unknown ⟨θvᵀ⟩ (X, general), ⟨vvᵀ⟩ (V, symmetric), the symmetric part
    # of ⟨θ∇Lᵀ⟩ (Gs); the antisymmetric part (a) and the other moments are free.
    sym = lambda n: sp.Matrix(2, 2, sp.symbols(f"{n}11 {n}12 {n}12 {n}22"))  # noqa: E731
    Xm = sp.Matrix(2, 2, sp.symbols("x11 x12 x21 x22"))
    Vm, Gs, Am, Sm = sym("V"), sym("G"), sym("A"), sym("S")
    Qm = sp.Matrix(2, 2, sp.symbols("q11 q12 q21 q22"))
    a = sp.Symbol("a")
    Gm = Gs + sp.Matrix([[0, a], [-a, 0]])
    noise = mu**2 * Vm - mu * eta * (Qm + Qm.T) + eta**2 * Sm  # E[v'v'ᵀ]
    e_tt = Am + mu * (Xm + Xm.T) - eta * (Gm + Gm.T) + noise
    e_tv = mu * Xm - eta * Gm + noise
    unknowns = list(Xm) + [Vm[0, 0], Vm[0, 1], Vm[1, 1], Gs[0, 0], Gs[0, 1], Gs[1, 1]]
    eqs_m = list(e_tt - Am) + list(e_tv - Xm) + list(noise - Vm)
    sol_m = sp.solve(eqs_m, unknowns, dict=True)[0]
    residual = ((Gm + Gm.T) - (1 + mu) / eta * Vm).subs(sol_m)
    checks.append(identity("⟨θ_i∂_jL + θ_j∂_iL⟩ = ((1 + μ)/η)⟨v_i v_j⟩", sum(sp.simplify(residual))))
    # Numbers: exact stationary moments of heavy-ball SGD on a 2-D quadratic (discrete Lyapunov
    # of (θ, v)), for several (η, μ); and the quadratic's ⟨v·∇L⟩ = ½⟨vᵀHv⟩ (stationarity of L).
    H = np.array([[1.5, 0.3], [0.3, 0.6]])
    Sig = np.array([[0.4, 0.1], [0.1, 0.2]])
    for lr, m in ((0.3, 0.0), (0.2, 0.5), (0.05, 0.9)):
        TT, TV, VV = _quadratic_moments(H, Sig, lr, m)
        Gn = TT @ H
        Sn = np.trace(H @ TT @ H) + np.trace(Sig)
        Qn = np.trace(TV @ H)
        checks.append(Check(f"η={lr}, μ={m}: FDR2 with v, exact Lyapunov moments",
                            (1 + m) / lr * VV, Gn + Gn.T, rtol=1e-9, atol=1e-12))
        checks.append(Check(f"η={lr}, μ={m}: trace form with g_B and ⟨v·∇L⟩",
                            float(G_g.subs({eta: lr, mu: m, S: Sn, Q: Qn})), np.trace(Gn), rtol=1e-9))
        checks.append(Check(f"η={lr}, μ={m}: ⟨v·∇L⟩ = ½ tr(H⟨vvᵀ⟩) on a quadratic",
                            0.5 * np.trace(H @ VV), Qn, rtol=1e-9))
    return Derivation("fdr_momentum", "v' = μv − η g_B, θ' = θ + v'; stationarity of θθᵀ, θvᵀ, vvᵀ, L",
                      sp.Tuple(sp.Eq(sp.Symbol("⟨θ·∇L⟩"), G_v), sp.Eq(sp.Symbol("⟨θ·∇L⟩"), G_g)), checks)


def _linreg_gradient_moments(lin, lr, b):
    """Exact stationary moments of SGD on linear regression (:func:`linear_sgd_moments`) and,
    from ``E[zzᵀ]`` with ``z = (θ, 1)``: ``E[∇L ∇Lᵀ]`` and ``E[C(θ)]`` (gradients affine in θ)."""
    from analysis.stationary import _affine_gradients, linear_sgd_moments
    A = _affine_gradients(lin)
    dA = A - A.mean(axis=0)
    m, S = linear_sgd_moments(lin, lr, b)
    d = m.size
    Z = np.zeros((d + 1, d + 1))
    Z[:d, :d], Z[:d, d], Z[d, :d], Z[d, d] = S + np.outer(m, m), m, m, 1.0
    grad_grad = A.mean(axis=0) @ Z @ A.mean(axis=0).T
    cov = np.einsum("nab,bc,ndc->ad", dA, Z, dA) / lin.n_samples
    return m, S, Z, grad_grad, cov


@derivation
def fdr_state_dependent_noise():
    # Yaida's FDR2 for μ = 0 is the μ = 0 case of fdr_momentum (v = −η g_B); here it is checked
    # where the noise depends on θ: exact stationary moments of SGD on linear regression.
    from analysis.stationary import _affine_gradients
    from models import LinearRegression
    eta = sp.Symbol("eta", positive=True)
    lin = LinearRegression.teacher_student(12, 3, noise=0.5, rng=4)
    A = _affine_gradients(lin)
    J, c = A.mean(axis=0)[:, :3], A.mean(axis=0)[:, 3]
    checks = []
    for lr, b in ((0.05, 1), (0.2, 4), (0.3, 12)):
        m, S, Z, grad_grad, cov = _linreg_gradient_moments(lin, lr, b)
        c_b = batch_noise_factor(lin.n_samples, b)
        theta_grad = Z[:3, :3] @ J.T + np.outer(m, c)  # E[θ ∇Lᵀ]
        checks.append(Check(f"linreg N=12, η={lr}, b={b}: FDR2 on exact moments",
                            lr * (grad_grad + c_b * cov), theta_grad + theta_grad.T, rtol=1e-8, atol=1e-12))
    return Derivation("fdr_state_dependent_noise", "θ' = θ − η g_B, noise depends on θ",
                      sp.Eq(sp.Symbol("⟨θ_i∂_jL + θ_j∂_iL⟩"), eta * sp.Symbol("⟨(g_B g_Bᵀ)_ij⟩")), checks)


@derivation
def linear_learning_identity():
    eta = sp.Symbol("eta", positive=True)
    Sxx = sp.Matrix(2, 2, sp.symbols("s11 s12 s12 s22"))
    Syx = sp.Matrix(2, 2, sp.symbols("r11 r12 r21 r22"))
    W = sp.Matrix(2, 2, sp.symbols("w11 w12 w21 w22"))
    loss = lambda M: (M * Sxx * M.T).trace() / 2 - (Syx * M.T).trace()  # noqa: E731  (+ const)
    W_star = Syx * Sxx.inv()
    grad = sp.Matrix(2, 2, lambda i, j: sp.diff(loss(W), W[i, j]))
    delta = W - W_star
    checks = [identity("∇L = δ Σ_xx", sum(sp.simplify(grad - delta * Sxx))),
              identity("L − L* = ½ tr(δᵀ∇L)",
                       sp.simplify(loss(W) - loss(W_star) - (delta.T * grad).trace() / 2))]
    # With FDR1 from the origin W*, ⟨δ·∇L⟩ = (η/2)⟨‖G_B‖²⟩, hence ⟨L⟩ − L* = (η/4)⟨‖G_B‖²⟩.
    # Numbers: exact stationary moments of SGD on LinearRegression (state-dependent noise).
    from models import LinearRegression
    lin = LinearRegression.teacher_student(12, 3, noise=0.5, rng=4)
    w = lin.minimizer()
    H = lin.hessian(w)
    for lr, b in ((0.05, 1), (0.2, 4)):
        m, S, _, grad_grad, cov = _linreg_gradient_moments(lin, lr, b)
        sq = np.trace(grad_grad) + batch_noise_factor(12, b) * np.trace(cov)  # E‖g_B‖²
        excess = 0.5 * np.trace(H @ (S + np.outer(m - w, m - w)))
        checks.append(Check(f"linreg N=12, η={lr}, b={b}: ⟨L⟩ − L* = (η/4)⟨‖g_B‖²⟩", lr / 4 * sq, excess,
                            rtol=1e-8))
    return Derivation("linear_learning_identity", "L = (1/2N) Σ ‖y − Wx‖², δ = W − W*, FDR1 from W*",
                      sp.Eq(sp.Symbol("⟨L⟩ − L*"), eta / 4 * sp.Symbol("⟨‖G_B‖²⟩")), checks)


@derivation
def deep_linear_layer_identity():
    # L(W_1..W_D) = ½ tr(P Σ_xx Pᵀ) − tr(Σ_yx Pᵀ) + const, P = W_D ⋯ W_1: L is homogeneous of
    # degree one in each layer's contribution to P, so W_l·∇_{W_l}L = tr(∇_P L Pᵀ) for every l.
    Sxx = sp.Matrix(2, 2, sp.symbols("s11 s12 s12 s22"))
    Syx = sp.Matrix(2, 2, sp.symbols("r11 r12 r21 r22"))
    Ws = [sp.Matrix(2, 2, sp.symbols(f"w{l}_11 w{l}_12 w{l}_21 w{l}_22")) for l in range(3)]
    P = Ws[2] * Ws[1] * Ws[0]
    loss = (P * Sxx * P.T).trace() / 2 - (Syx * P.T).trace()
    common = ((P * Sxx - Syx) * P.T).trace()
    checks = []
    for l, W in enumerate(Ws):
        euler = sum(W[i, j] * sp.diff(loss, W[i, j]) for i in range(2) for j in range(2))
        checks.append(identity(f"W_{l + 1}·∇_{{W_{l + 1}}}L = tr((PΣ_xx − Σ_yx)Pᵀ)",
                               sp.expand(euler - common)))
    # Numbers: the compiled gradient of a 3-layer DeepLinearNetwork at random parameters.
    from models.deep_linear import DeepLinearNetwork
    net = DeepLinearNetwork.teacher_student([3, 4, 3, 2], 20, noise=0.3, rng=5)
    theta = net.init(rng=6)
    g = np.empty(net.dim)
    net.compiled("grad")(theta, net.data, g)
    Pn = net.product(theta)
    Sx, Sy = net.X.T @ net.X / 20, net.Y.T @ net.X / 20
    value = np.trace((Pn @ Sx - Sy) @ Pn.T)
    for l, (a, e) in enumerate(zip(net.offsets[:-1], net.offsets[1:])):
        checks.append(Check(f"3-layer net: layer {l + 1} vs tr((PΣ_xx − Σ_yx)Pᵀ)", value,
                            float(theta[a:e] @ g[a:e]), rtol=1e-10))
    result = sp.Eq(sp.Symbol("⟨W_l·∇_{W_l}L⟩"), sp.Symbol("(η/2)⟨‖∂_{W_l}L_B‖²⟩"))
    return Derivation("deep_linear_layer_identity",
                      "P = W_D⋯W_1; FDR2 traced over one layer's block", result, checks)


@derivation
def quadratic_temperature():
    eta, h, C = sp.symbols("eta h C", positive=True)
    # T_eff = ⟨θ·∇L⟩ / tr H. Trace of HS + SH − ηHSH = ηΣ: tr(HS) = (η/2)(tr Σ + tr(HSH)).
    # 1-D exact: S = ηC/(h(2 − ηh)); expansion to η².
    T_exact = h * eta * C / (h * (2 - eta * h)) / h
    series = sp.series(T_exact, eta, 0, 3).removeO()
    checks = [identity("1-D: T = ηC/(2h) + η²C/4 + O(η³)",
                       sp.expand(series - (eta * C / (2 * h) + eta**2 * C / 4)))]
    H = np.array([[1.5, 0.3], [0.3, 0.6]])
    Sig = np.array([[0.4, 0.1], [0.1, 0.2]])
    errs = []
    for lr in (0.4, 0.2, 0.1):
        S = stationary.discrete_lyapunov(H, Sig, lr)
        checks.append(Check(f"η={lr}: tr(HS) = (η/2)(tr Σ + tr(HSH))",
                            lr / 2 * (np.trace(Sig) + np.trace(H @ S @ H)), np.trace(H @ S), rtol=1e-10))
        second = lr * np.trace(Sig) / (2 * np.trace(H)) + lr**2 * np.trace(H @ Sig) / (4 * np.trace(H))
        errs.append(abs(np.trace(H @ S) / np.trace(H) - second))
    checks.append(Check("second-order formula: error O(η³) (halving η divides it by 8)", 3.0,
                        float(np.log2(errs[1] / errs[2])), rtol=0.1))
    return Derivation("quadratic_temperature", "T_eff = ⟨θ·∇L⟩/tr H on ½θᵀHθ, additive noise Σ_b",
                      sp.Eq(sp.Symbol("T_eff"), eta * sp.Symbol("tr Σ_b") / (2 * sp.Symbol("tr H"))
                            + eta**2 * sp.Symbol("tr(HΣ_b)") / (4 * sp.Symbol("tr H"))
                            + sp.O(eta**3)), checks)


@derivation
def ou_entropy_production():
    # Premise: dθ = −Hθ dt + √(2D) dW in 2-D, H and D symmetric, D positive definite. The
    # stationary density is N(0, S) with HS + SH = 2D; its current is J = (−Hθ + D S⁻¹θ) p
    # (J = a p − D∇p), and the entropy production rate σ = ∫ Jᵀ D⁻¹ J / p = ⟨θᵀ Mᵀ D⁻¹ M θ⟩
    # = tr(Mᵀ D⁻¹ M S) with M = H − D S⁻¹.
    h11, h12, h22, d11, d12, d22 = sp.symbols("h11 h12 h22 d11 d12 d22", real=True)
    s11, s12, s22 = sp.symbols("s11 s12 s22")
    H = sp.Matrix([[h11, h12], [h12, h22]])
    D = sp.Matrix([[d11, d12], [d12, d22]])
    S = sp.Matrix([[s11, s12], [s12, s22]])
    S = S.subs(sp.solve(list(H * S + S * H - 2 * D), [s11, s12, s22], dict=True)[0])
    M = H - D * S.inv()
    sigma = sp.factor(sp.simplify((M.T * D.inv() * M * S).trace()))
    comm = (H * D - D * H)[0, 1]
    result = comm ** 2 / (H.trace() * D.det())
    general = (H * D.inv() * H * S).trace() - H.trace()  # any dimension: tr(HᵀD⁻¹HS) − tr H
    checks = [identity("σ = ([H, D]_12)² / (tr H det D)", sigma - result),
              identity("σ = tr(H D⁻¹ H S) − tr H", sp.simplify(general - result))]
    a, b = sp.symbols("a b", positive=True)
    commuting = sp.simplify(sigma.subs({d11: a + b * h11, d12: b * h12, d22: a + b * h22}))
    checks.append(Check("D = aI + bH (commutes with H): σ = 0, detailed balance", 0.0,
                        float(commuting != 0)))
    Hn, Dn = np.array([[1.0, 0.6], [0.6, 2.0]]), np.array([[0.1, 0.04], [0.04, 0.05]])
    # independent numbers: the Gaussian expectation ⟨θᵀMᵀD⁻¹Mθ⟩ by
    # cubature on a fine grid, with S from scipy's Lyapunov solver
    Sn = stationary.continuous_lyapunov(Hn, Dn)
    Mn = Hn - Dn @ np.linalg.inv(Sn)
    w = np.sqrt(np.diag(Sn))
    xs = [np.linspace(-9 * wi, 9 * wi, 801) for wi in w]
    X = np.stack(np.meshgrid(*xs, indexing="ij"), -1).reshape(-1, 2)
    dens = np.exp(-0.5 * np.einsum("mi,ij,mj->m", X, np.linalg.inv(Sn), X))
    quad = np.einsum("mi,ij,mj->m", X @ Mn.T, np.linalg.inv(Dn), X @ Mn.T)
    numeric = float((dens * quad).sum() / dens.sum())
    value = float(result.subs({h11: 1.0, h12: 0.6, h22: 2.0, d11: 0.1, d12: 0.04, d22: 0.05}))
    checks.append(Check("H, D numeric: closed form vs Gaussian cubature of ⟨JᵀD⁻¹J/p²⟩",
                        value, numeric, rtol=1e-8))
    checks.append(Check("closed form vs analysis.stationary.ou_entropy_production", value,
                        stationary.ou_entropy_production(Hn, Dn), rtol=1e-10))
    return Derivation("ou_entropy_production",
                      "stationary OU dθ = −Hθdt + √(2D)dW in 2-D: σ = ∫ JᵀD⁻¹J/p",
                      sp.Eq(sp.Symbol("σ"), result), checks)


# --- §8 adaptive methods ----------------------------------------------------------------------
def adam_frozen_threshold_value(lr, beta1):
    """The largest stable ``λ(P⁻¹H)`` of Adam with a frozen preconditioner ``P``:
    ``(2 + 2β₁) / ((1 − β₁) η)`` (38/η at β₁ = 0.9; ``2/η`` for RMSProp, β₁ = 0)."""
    return (2.0 + 2.0 * beta1) / ((1.0 - beta1) * lr)


@derivation
def adam_frozen_threshold():
    eta, lam = sp.symbols("eta lambda", positive=True)
    beta = sp.Symbol("beta_1", nonnegative=True)
    z = sp.Symbol("z")
    # Along an eigenvector of P⁻¹H (real λ > 0: P⁻¹H is similar to P^(-1/2) H P^(-1/2)), with
    # u_k = η m_k / P: u_k = β u_{k−1} + η(1 − β) λ θ_k, θ_{k+1} = θ_k − u_k (bias correction
    # → 1). State (θ_k, u_{k−1}) → (θ_{k+1}, u_k):
    alpha = eta * (1 - beta)
    M = sp.Matrix([[1 - alpha * lam, -beta], [alpha * lam, beta]])
    a1, a0 = M.charpoly(z).all_coeffs()[1:]
    # Schur-Cohn (Jury) for z² + a1 z + a0: |a0| < 1 and |a1| < 1 + a0. Here a0 = β < 1, and
    # a1 = −(1 + β − αλ), so the second condition is 0 < αλ < 2(1 + β); its edge:
    edge = sp.solve(sp.Eq(-a1, -(1 + a0)), lam)[0]
    checks = [identity("a0 = β", a0 - beta),
              identity("edge = (2 + 2β)/((1 − β)η)", edge - (2 + 2 * beta) / ((1 - beta) * eta)),
              identity("β = 0: GD's 2/η", edge.subs(beta, 0) - 2 / eta)]
    for lr, b in ((0.01, 0.9), (0.1, 0.5), (0.003, 0.0)):
        lam_c = adam_frozen_threshold_value(lr, b)
        for side, factor in (("below", 1 - 1e-6), ("above", 1 + 1e-6)):
            Mn = np.array(M.subs({eta: lr, beta: b, lam: lam_c * factor}).evalf(), dtype=float)
            rho = max(abs(np.linalg.eigvals(Mn)))
            checks.append(Check(f"η={lr}, β₁={b}: spectral radius {side} the edge is "
                                f"{'< 1' if side == 'below' else '> 1'}",
                                1.0, float(rho < 1.0) if side == "below" else float(rho > 1.0)))
    return Derivation("adam_frozen_threshold",
                      "m' = β₁m + (1 − β₁)Hθ, θ' = θ − ηP⁻¹m' with P frozen (heavy ball on P⁻¹H)",
                      sp.Eq(sp.Symbol("lambda_max(P^-1 H)"), sp.factor(edge)), checks)


# --- §9 label noise ---------------------------------------------------------------------------
@derivation
def label_noise_drift():
    u, v, eta, g, m, sig, N, c = sp.symbols("u v eta g m sigma N c", real=True)
    # One coordinate j of f = Σ_j u_j v_j x_j (d = 1: the product network), batch gradient of
    # ½(f − y − σε)²: (ĝ v, ĝ u) with ĝ the batch mean of (f − y − σε) x_j.
    n1, n2 = u - eta * g * v, v - eta * g * u
    ratio = sp.factor(sp.expand(n1**2 - n2**2) / (u**2 - v**2))
    checks = [identity("D' = (1 − η² ĝ²) D, D = u² − v²", ratio - (1 - eta**2 * g**2))]
    # On the manifold (interpolation) ĝ = −(σ/N) Σ_i ε_i x_i: E ĝ² from independent ε_i
    # (explicit N = 3, then the pattern σ² Σ x²/N² = σ² m/N with m = mean x²).
    xs, es = sp.symbols("x1:4", real=True), sp.symbols("e1:4", real=True)
    ghat = -sig / 3 * sum(e * x for e, x in zip(es, xs))
    mom = {sp.Integer(1): 1}
    for i, e in enumerate(es):
        mom[e**2] = 1
        for f in es[i + 1:]:
            mom[e * f] = 0
    for e in es:
        mom[e] = 0
    Eg2 = expectation(ghat**2, es, mom)
    checks.append(identity("E ĝ² = σ² m / N on the manifold (N = 3)",
                           Eg2 - sig**2 * (sum(x**2 for x in xs) / 3) / 3))
    rate0 = eta**2 * sig**2 * m / N
    # The implicit regulariser: per-step drift −κ ∇_Γ R, R = tr ∇²L = m (u² + v²) on Γ = {uv = c}
    # (Hessian = Gauss-Newton at interpolation); tangent τ ∝ (u, −v). Its effect on D:
    kappa = sp.Symbol("kappa", positive=True)
    grad_R = sp.Matrix([2 * m * u, 2 * m * v])
    tau = sp.Matrix([u, -v])
    proj = (tau.dot(grad_R) / tau.dot(tau)) * tau
    dD = sp.Matrix([2 * u, -2 * v]).dot(-kappa * proj)
    kappa_sol = sp.solve(sp.Eq(sp.simplify(dD / (u**2 - v**2)), -rate0), kappa)[0]
    checks.append(identity("drift = −(η²σ²/4N) ∇_Γ tr ∇²L per step", kappa_sol - eta**2 * sig**2 / (4 * N)))
    # Finite η, full batch: δ = uv − c obeys δ' ≈ (1 − ηλ) δ + η S ζ (S = u² + v², λ = mS,
    # Var ζ = σ² m/N); the stationary Var δ enters E ĝ² = m² Var δ + Var ζ.
    S, lam = sp.symbols("S lambda", positive=True)
    s2 = sig**2 * m / N
    var_delta = eta**2 * S**2 * s2 / (1 - (1 - eta * m * S) ** 2)
    rate = sp.simplify(eta**2 * (m**2 * var_delta + s2))
    factor = sp.simplify((rate / rate0).subs(S, lam / m))
    checks.append(identity("finite-η factor 2/(2 − ηλ)", factor - 2 / (2 - eta * lam)))
    # Numbers: one engine step of label-noise SGD reproduces D' = (1 − η²ĝ²)D with the
    # replica's own draws, and balance_rate evaluates the derived rate.
    import landscape_sde as lsde
    from analysis.label_noise import balance_rate
    from models import ProductNetwork
    net = ProductNetwork(n_samples=8, label_noise=0.0, rng=0)
    w, lr, sg = np.array([1.7, 0.4]), 0.05, 0.7
    ens = lsde.simulate(net, lsde.LabelNoiseSGD(lr, sg), w, n_steps=1, rng=3)
    z = lsde.rng.standard_normals(1, 8, rng=3)[0]
    g_num = float(np.mean((w[0] * w[1] * net.x - net.y - sg * z) * net.x))
    w_new = ens.theta[-1, 0]
    checks.append(Check("one label-noise step of the engine", float(ratio.subs({eta: lr, g: g_num})),
                        float((w_new[0] ** 2 - w_new[1] ** 2) / (w[0] ** 2 - w[1] ** 2)), rtol=1e-12))
    vals = {eta: 0.05, sig: 0.7, m: 1.3, N: 8, lam: 2.0}
    checks.append(Check("balance_rate", float((rate0 * factor).subs(vals)),
                        float(balance_rate(0.05, 0.7, 1.3, 8, sharpness=2.0)), rtol=1e-12))
    return Derivation("label_noise_drift",
                      "w ← w − η ∇_w ½(Σ_j u_j v_j x_j − y − σε)², fresh ε each step",
                      sp.Eq(sp.Symbol("E[1 − D'/D]"), rate0 * 2 / (2 - eta * lam)), checks)


@derivation
def online_linreg_moment():
    eta, b, d, s, sig = sp.symbols("eta b d s sigma", positive=True)
    # E[x xᵀ A x xᵀ] = 2A + tr(A) I for x ~ N(0, I), checked entrywise with Isserlis in d = 2
    x1, x2 = sp.symbols("x1 x2", real=True)
    a11, a12, a22 = sp.symbols("a11 a12 a22", real=True)
    A = sp.Matrix([[a11, a12], [a12, a22]])
    xv = sp.Matrix([x1, x2])
    M = xv * (xv.T * A * xv)[0] * xv.T
    mom = {sp.Integer(1): 1}
    for i in range(5):
        for j in range(5):
            mono = x1**i * x2**j
            f = lambda k: 0 if k % 2 else int(np.prod(np.arange(k - 1, 0, -2))) if k else 1  # noqa: E731
            mom[mono] = f(i) * f(j)
    EM = M.applyfunc(lambda e: expectation(e, (x1, x2), mom))
    checks = [identity("E[x xᵀ A x xᵀ] = 2A + tr(A) I", sum((EM - 2 * A - A.trace() * sp.eye(2)).applyfunc(sp.expand)))]
    # W = sI: s = s − 2ηs + η²[((b + 1)/b) s + (d s + σ²)/b]
    sol = sp.solve(sp.Eq(s, s - 2 * eta * s + eta**2 * ((b + 1) / b * s + (d * s + sig**2) / b)), s)[0]
    checks.append(identity("s = ησ²/(2b − η(b + d + 1))", sol - eta * sig**2 / (2 * b - eta * (b + d + 1))))
    checks.append(identity("η → 0: ησ²/(2b)", sp.limit(sol / eta, eta, 0) - sig**2 / (2 * b)))
    from analysis.online import stationary_variance
    checks.append(Check("stationary_variance", float(sol.subs({eta: 0.1, b: 4, d: 10, sig: 0.5})),
                        stationary_variance(0.1, 4, 10, 0.5), rtol=1e-12))
    return Derivation("online_linreg_moment",
                      "online SGD, x ~ N(0, I_d), y = xᵀθ* + σε, fresh samples each step",
                      sp.Eq(sp.Symbol("E w_j²"), sol), checks)


# --- runner -----------------------------------------------------------------------------------
def run(names=None):
    """Run the named derivations (all by default); returns the list of :class:`Derivation`."""
    unknown = set(names or ()) - set(REGISTRY)
    if unknown:
        raise ValueError(f"names: unknown derivations {sorted(unknown)}; known: {sorted(REGISTRY)}")
    return [REGISTRY[n]() for n in (names or REGISTRY)]


def report(results, latex=False, out=sys.stdout):
    for r in results:
        print(f"[{'PASS' if r.passed else 'FAIL'}] {r.name}: {r.premise}", file=out)
        print(sp.latex(r.result) if latex else sp.pretty(r.result, use_unicode=True), file=out)
        for c in r.checks:
            print(f"    {'ok ' if c.passed else 'BAD'} {c.what}: derived {np.ravel(c.derived)[:2]}, "
                  f"numeric {np.ravel(c.numeric)[:2]}", file=out)
        print(file=out)
    failed = [r.name for r in results if not r.passed]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed", file=out)
    return not failed


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m analysis.derivations", description=__doc__.split("\n")[0])
    p.add_argument("names", nargs="*", help=f"derivations to run (default all: {', '.join(REGISTRY)})")
    p.add_argument("--latex", action="store_true", help="print results as LaTeX")
    args = p.parse_args(argv)
    return 0 if report(run(args.names), latex=args.latex) else 1


if __name__ == "__main__":
    sys.exit(main())
