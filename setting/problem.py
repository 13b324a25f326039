"""The one problem specification shared by the theory and the simulator.

A :class:`Problem` holds the whole setting of "Does Weak-to-strong Generalization Happen under
Spurious Correlations?" (Liu, Dong, Lei, ICLR 2026): the group model, the noise and signal
levels, the group-feature geometry (``mu_xi``, ``T``, ``S``), the three minority fractions and
the proportional ratios. It is a frozen dataclass registered as a JAX pytree: the numeric
fields are leaves (so theory functions can be ``vmap``-ed over grids of them), the group model
and ``d_z`` are static.

Construction validates every field and raises :class:`ProblemError` with a one-line message
naming the field and the rule. Rebuilding a pytree (``jax.tree_util``, ``vmap``) skips the
checks, because leaves are then tracers or axis specs.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .groups import LAWS, GroupLaw, group_law

__all__ = [
    "GROUP_MODELS",
    "FIELDS",
    "LEAVES",
    "SCALARS",
    "Problem",
    "ProblemError",
    "check_scalar",
    "load_problem",
    "parse_value",
]

GROUP_MODELS = tuple(LAWS)  # the built-in group models (setting.groups); the registry may hold more

# Order matters only for printing; these are exactly the TOML key names.
FIELDS = (
    "group_model",
    "sigma_y2",
    "signal",
    "sigma_xi2",
    "mu_xi",
    "T",
    "S",
    "eta_l",
    "eta_u",
    "eta_t",
    "gamma",
    "nu",
    "ridge_teacher",
    "ridge_student",
    "d_z",
)
_STATIC = ("group_model", "d_z")
LEAVES = tuple(f for f in FIELDS if f not in _STATIC)
SCALARS = (
    "sigma_y2",
    "signal",
    "sigma_xi2",
    "eta_l",
    "eta_u",
    "eta_t",
    "gamma",
    "nu",
    "ridge_teacher",
    "ridge_student",
)
ORTHONORMAL_TOL = 1e-8


class ProblemError(ValueError):
    """Invalid problem specification; the message names the field and the rule."""


try:  # public in jax 0.10; fall back to the private path should it move
    from jax.core import Tracer as _Tracer
except ImportError:  # pragma: no cover
    from jax._src.core import Tracer as _Tracer


def _is_concrete(x: Any) -> bool:
    return not isinstance(x, _Tracer)


def check_scalar(name: str, value: Any) -> None:
    """Check one scalar field's range rule (elementwise, so grids of values can be checked)."""
    v = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(v)):
        raise ProblemError(f"{name}: must be finite, got {value!r}")
    rules = {
        "eta_l": (lambda x: (x >= 0) & (x <= 1), "must lie in [0, 1]"),
        "eta_u": (lambda x: (x >= 0) & (x <= 1), "must lie in [0, 1]"),
        "eta_t": (lambda x: (x >= 0) & (x <= 1), "must lie in [0, 1]"),
        "sigma_y2": (lambda x: x >= 0, "must be >= 0 (a variance)"),
        "signal": (lambda x: x >= 0, "must be >= 0 (it is ||beta*||^2)"),
        "sigma_xi2": (lambda x: x > 0, "must be > 0 (a variance that divides the separation)"),
        "gamma": (lambda x: x > 0, "must be > 0 (gamma = d_z/n)"),
        "nu": (lambda x: x >= 0, "must be >= 0 (nu = d_z/N; 0 means N = infinity)"),
        "ridge_teacher": (lambda x: x >= 0, "must be >= 0 (0 = min-norm)"),
        "ridge_student": (lambda x: x >= 0, "must be >= 0 (0 = min-norm)"),
    }
    ok, rule = rules[name]
    if not np.all(ok(v)):
        raise ProblemError(f"{name}: {rule}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class Problem:
    r"""The W2S-under-spurious-correlation setting (docs/theory.md, section 1).

    Data model :math:`D(\eta)`: core feature :math:`z\sim N(0, I_{d_z})`, label
    :math:`y = z^\top\beta^* + \varepsilon` with :math:`\|\beta^*\|^2 =` ``signal`` and
    :math:`\mathrm{Var}\,\varepsilon =` ``sigma_y2``; group feature :math:`\xi\in\mathbb R^p`, either
    a two-component mixture :math:`\xi\mid g\sim N(g\mu_\xi, \sigma_\xi^2 I)`, :math:`g\sim
    \mathrm{Bern}(\eta)` (``"mixture"``) or :math:`\xi\sim N(\eta\mu_\xi, \sigma_\xi^2 I)`
    (``"mean-shift"``). Teacher features :math:`z\otimes[1; T^\top\xi]`, student features
    :math:`z\otimes[1; S^\top\xi]`.

    Attributes:
        group_model: a registered group model (:mod:`setting.groups`): ``"mixture"`` (default) or
            ``"mean-shift"``; static.
        sigma_y2: label-noise variance :math:`\sigma_y^2 \ge 0`.
        signal: :math:`\|\beta^*\|^2 \ge 0` (enters only over-parameterised / ridge risks).
        sigma_xi2: group-feature noise variance :math:`\sigma_\xi^2 > 0`.
        mu_xi: minority-group mean shift, shape ``(p,)``.
        T: teacher embedding, shape ``(p, p_T - 1)``, orthonormal columns.
        S: student embedding, shape ``(p, p_S - 1)``, orthonormal columns.
        eta_l, eta_u, eta_t: minority fractions of the labeled, pseudolabeled and test data.
        gamma: :math:`\gamma_z = d_z/n > 0`.
        nu: :math:`\nu_z = d_z/N \ge 0`; 0 means infinitely many pseudolabels.
        ridge_teacher, ridge_student: ridge penalties :math:`\lambda \ge 0` (0 = min-norm).
        d_z: core dimension, used by the simulator only; static.
    """

    sigma_y2: Any = 1.0
    signal: Any = 1.0
    sigma_xi2: Any = 1.0
    mu_xi: Any = dataclasses.field(default_factory=lambda: np.zeros(1))
    T: Any = dataclasses.field(default_factory=lambda: np.zeros((1, 0)))
    S: Any = dataclasses.field(default_factory=lambda: np.zeros((1, 0)))
    eta_l: Any = 0.5
    eta_u: Any = 0.5
    eta_t: Any = 0.5
    gamma: Any = 0.1
    nu: Any = 0.0
    ridge_teacher: Any = 0.0
    ridge_student: Any = 0.0
    d_z: int = 256
    group_model: str = "mixture"

    def __post_init__(self) -> None:
        if any(not _is_concrete(getattr(self, f)) for f in LEAVES):
            return  # built inside a transformation: values are abstract, nothing to check
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        try:
            group_law(self.group_model)
        except ValueError as e:
            raise ProblemError(str(e)) from None
        if isinstance(self.d_z, bool) or not isinstance(self.d_z, (int, np.integer)) or self.d_z < 1:
            raise ProblemError(f"d_z: must be a positive integer, got {self.d_z!r}")
        set_("d_z", int(self.d_z))
        for name in SCALARS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number, np.ndarray, jax.Array)):
                raise ProblemError(f"{name}: must be a number, got {value!r}")
            if np.ndim(value) != 0:
                raise ProblemError(f"{name}: must be a scalar, got shape {np.shape(value)}")
            check_scalar(name, value)
            set_(name, float(value))
        mu = _as_float_array("mu_xi", self.mu_xi)
        if mu.ndim != 1 or mu.shape[0] < 1:
            raise ProblemError(f"mu_xi: must be a vector of length p >= 1, got shape {mu.shape}")
        set_("mu_xi", mu)
        p = mu.shape[0]
        for name in ("T", "S"):
            m = _as_float_array(name, getattr(self, name))
            if m.ndim == 1 and m.size == 0:
                m = m.reshape(p, 0)
            if m.ndim != 2 or m.shape[0] != p:
                raise ProblemError(
                    f"{name}: must have shape (p, p_{name} - 1) with p = len(mu_xi) = {p}, got shape {m.shape}"
                )
            if m.shape[1] > p:
                raise ProblemError(f"{name}: has {m.shape[1]} columns but p = {p}; orthonormal columns need <= p")
            err = np.max(np.abs(m.T @ m - np.eye(m.shape[1])), initial=0.0)
            if err > ORTHONORMAL_TOL:
                raise ProblemError(
                    f"{name}: columns must be orthonormal within {ORTHONORMAL_TOL:g} "
                    f"(max |{name}^T {name} - I| = {err:.3g})"
                )
            set_(name, m)
        if self.S.shape[1] > self.T.shape[1]:
            raise ProblemError(f"S: the paper's setting needs p_S <= p_T, got p_S = {self.p_S} > p_T = {self.p_T}")

    # ----------------------------------------------------------------------------------- shape
    @property
    def law(self) -> GroupLaw:
        """The group model's law of xi given eta (:mod:`setting.groups`)."""
        return group_law(self.group_model)

    @property
    def p(self) -> int:
        """Dimension of the group feature xi."""
        return self.mu_xi.shape[-1]

    @property
    def p_T(self) -> int:
        """Teacher group-feature dimension (including the constant coordinate)."""
        return self.T.shape[-1] + 1

    @property
    def p_S(self) -> int:
        """Student group-feature dimension (including the constant coordinate)."""
        return self.S.shape[-1] + 1

    @property
    def n(self) -> int:
        """Labeled sample size used by the simulator: round(d_z / gamma)."""
        return max(1, int(round(self.d_z / float(self.gamma))))

    @property
    def N(self) -> int | None:
        """Pseudolabeled sample size round(d_z / nu); None when nu = 0 (infinitely many)."""
        nu = float(self.nu)
        return None if nu == 0 else max(1, int(round(self.d_z / nu)))

    # ------------------------------------------------------------------------------ derived
    @property
    def mu_T(self):
        """mu_T = T^T mu_xi, shape (p_T - 1,)."""
        return self.T.T @ self.mu_xi

    @property
    def mu_S(self):
        """mu_S = S^T mu_xi, shape (p_S - 1,)."""
        return self.S.T @ self.mu_xi

    @property
    def Xi(self):
        """Teacher-student similarity Xi = T^T S, shape (p_T - 1, p_S - 1)."""
        return self.T.T @ self.S

    # --------------------------------------------------------------------------- building
    def replace(self, **changes: Any) -> Problem:
        """A validated copy with some fields changed."""
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise ProblemError(f"{sorted(unknown)[0]}: unknown field (known: {', '.join(FIELDS)})")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base: Problem | None = None) -> Problem:
        """Build from a mapping with exactly the TOML key names; missing keys take defaults."""
        unknown = [k for k in data if k not in FIELDS]
        if unknown:
            raise ProblemError(f"{unknown[0]}: unknown key (known keys: {', '.join(FIELDS)})")
        return base.replace(**data) if base is not None else cls(**data)

    @classmethod
    def from_toml(cls, path: str | Path) -> Problem:
        """Load a problem from a TOML file whose keys are exactly the field names."""
        return load_problem(path)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python (JSON/TOML-serialisable) form with exactly the TOML key names."""
        out: dict[str, Any] = {}
        for f in FIELDS:
            v = getattr(self, f)
            out[f] = np.asarray(v).tolist() if f in ("mu_xi", "T", "S") else v
        return out

    def to_toml(self) -> str:
        """TOML text that :meth:`from_toml` reads back to an equal problem."""

        def fmt(v: Any) -> str:
            if isinstance(v, str):
                return f'"{v}"'
            if isinstance(v, list):
                return "[" + ", ".join(fmt(x) for x in v) + "]"
            return repr(v)

        return "".join(f"{k} = {fmt(v)}\n" for k, v in self.to_dict().items())

    @classmethod
    def from_scalars(
        cls,
        *,
        p_T: int = 3,
        p_S: int = 2,
        similarity: float = 0.0,
        mu_T2: float = 0.0,
        mu_S2: float = 0.0,
        sigma_xi2: float = 1.0,
        **fields: Any,
    ) -> Problem:
        r"""The scalar family used in the figures.

        Builds ``T``, ``S`` and ``mu_xi`` (in ``p = (p_T - 1) + (p_S - 1)`` dimensions, at least 1)
        with :math:`\|\Xi\|_F^2 =` ``similarity``, :math:`\|\mu_T\|^2/\sigma_\xi^2 =` ``mu_T2`` and
        :math:`\|\mu_S\|^2/\sigma_\xi^2 =` ``mu_S2``:

        * ``T = [e_1, ..., e_{p_T-1}]``;
        * ``S_j = cos(theta) e_j + sin(theta) e_{p_T-1+j}`` with ``cos^2(theta) = similarity/(p_S-1)``,
          so ``Xi = cos(theta) [I; 0]`` (the student shares an equal angle with each of its
          teacher directions);
        * ``mu_xi = a e_1 + b e_{p_T}``, ``a = sqrt(mu_T2 sigma_xi2)``, ``b`` chosen so that
          ``S_1^T mu_xi = sqrt(mu_S2 sigma_xi2)``. Then ``mu_T = a e_1`` and ``mu_S`` is along
          ``e_1``, the direction in which ``Xi mu_S`` is parallel to ``mu_T``.

        Other keyword arguments are passed through as :class:`Problem` fields.
        """
        for name, v in (("p_T", p_T), ("p_S", p_S)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ProblemError(f"{name}: must be an integer >= 1, got {v!r}")
        if p_S > p_T:
            raise ProblemError(f"p_S: must be <= p_T, got p_S = {p_S} > p_T = {p_T}")
        kT, kS = p_T - 1, p_S - 1
        for name, v in (("similarity", similarity), ("mu_T2", mu_T2), ("mu_S2", mu_S2)):
            if not np.isfinite(v) or v < 0:
                raise ProblemError(f"{name}: must be a finite number >= 0, got {v!r}")
        if similarity > kS + 1e-12:
            raise ProblemError(f"similarity: ||Xi||_F^2 must lie in [0, p_S - 1] = [0, {kS}], got {similarity}")
        check_scalar("sigma_xi2", sigma_xi2)
        if kT == 0 and mu_T2 > 0:
            raise ProblemError("mu_T2: must be 0 when p_T = 1 (the teacher sees no group feature)")
        if kS == 0 and mu_S2 > 0:
            raise ProblemError("mu_S2: must be 0 when p_S = 1 (the student sees no group feature)")
        p = max(kT + kS, 1)
        cos = math.sqrt(min(similarity / kS, 1.0)) if kS else 0.0
        sin = math.sqrt(max(1.0 - cos * cos, 0.0))
        T = np.zeros((p, kT))
        T[np.arange(kT), np.arange(kT)] = 1.0
        S = np.zeros((p, kS))
        S[np.arange(kS), np.arange(kS)] = cos
        S[kT + np.arange(kS), np.arange(kS)] = sin
        a = math.sqrt(mu_T2 * sigma_xi2)
        target = math.sqrt(mu_S2 * sigma_xi2)
        mu = np.zeros(p)
        if kT:
            mu[0] = a
        if kS:
            if sin > 1e-12:
                mu[kT] = (target - cos * a) / sin
            elif abs(cos * a - target) > 1e-9 * max(1.0, target):
                raise ProblemError(
                    f"mu_S2: with full similarity mu_S = Xi^T mu_T, so mu_S2 must equal "
                    f"{(cos * a) ** 2 / sigma_xi2:.6g}, got {mu_S2}"
                )
        return cls(mu_xi=mu, T=T, S=S, sigma_xi2=sigma_xi2, **fields)

    def summary(self) -> dict[str, float]:
        """The scalar invariants: p_T, p_S, ||Xi||_F^2, ||mu_T||^2/sigma_xi2, ||mu_S||^2/sigma_xi2."""
        s2 = float(self.sigma_xi2)
        return {
            "p_T": self.p_T,
            "p_S": self.p_S,
            "similarity": float(np.sum(np.asarray(self.Xi) ** 2)),
            "mu_T2": float(np.sum(np.asarray(self.mu_T) ** 2)) / s2,
            "mu_S2": float(np.sum(np.asarray(self.mu_S) ** 2)) / s2,
        }


def _as_float_array(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ProblemError(f"{name}: must be a numeric array, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ProblemError(f"{name}: must be finite")
    return arr


def _flatten(prob: Problem):
    return tuple(getattr(prob, f) for f in LEAVES), (prob.group_model, prob.d_z)


def _flatten_with_keys(prob: Problem):
    children = tuple((jax.tree_util.GetAttrKey(f), getattr(prob, f)) for f in LEAVES)
    return children, (prob.group_model, prob.d_z)


def _unflatten(aux, children) -> Problem:
    # Bypass __init__: leaves may be tracers, axis specs or None inside transformations.
    obj = object.__new__(Problem)
    for f, v in zip(LEAVES, children, strict=True):
        object.__setattr__(obj, f, v)
    object.__setattr__(obj, "group_model", aux[0])
    object.__setattr__(obj, "d_z", aux[1])
    return obj


jax.tree_util.register_pytree_with_keys(Problem, _flatten_with_keys, _unflatten, _flatten)


def parse_value(text: str) -> Any:
    """Parse a ``--set`` value as TOML (``0.3``, ``"mean-shift"``, ``[1.0, 0.0]``); bare words are strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def load_problem(config: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Problem:
    """Load a TOML problem (or the defaults) and apply ``key=value`` overrides, validating the result."""
    data: dict[str, Any] = {}
    if config is not None:
        path = Path(config)
        try:
            data = tomllib.loads(path.read_text())
        except OSError as e:
            raise ProblemError(f"config: cannot read {str(path)!r} ({e.strerror})") from None
        except tomllib.TOMLDecodeError as e:
            raise ProblemError(f"config: {path} is not valid TOML ({e})") from None
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ProblemError(f"--set: expected key=value, got {item!r}")
        data[key] = parse_value(value.strip())
    return Problem.from_dict(data)
