r"""Group models: the law of the group features :math:`\xi` given the minority fraction :math:`\eta`.

Every group model here is a finite *mixture of mean shifts* along :math:`\mu_\xi`:

.. math:: s \sim \sum_j \pi_j(\eta)\,\delta_{a_j(\eta)},\qquad
          \xi \mid s \sim N(s\,\mu_\xi,\ \sigma_\xi^2 I_p),

so a model is its list of components :math:`(\pi_j(\eta), a_j(\eta))`, written once, in
:data:`LAWS`. Everything else reads the components from here: the theory's moments
(:math:`E_\eta\xi = E[s]\,\mu_\xi`, :math:`E_\eta\xi\xi^\top = \sigma_\xi^2 I + E[s^2]\,\mu_\xi\mu_\xi^\top`),
the exact theory's Gaussian-mixture law of :math:`[1; V^\top\xi]`, the symbolic leading-order
forms, and the simulator's sampler (component :math:`j` drawn from one uniform by the inverse
CDF of the weights, taken from the last component down: :math:`j = \sum_{k\ge1}
1\{u < \sum_{i\ge k}\pi_i\}`).

The two models of arXiv:2509.24005:

* ``"mixture"``: a minority member (:math:`g = 1`, probability :math:`\eta`) has mean
  :math:`\mu_\xi`, a majority member mean 0: components :math:`(1-\eta, 0)`, :math:`(\eta, 1)`;
* ``"mean-shift"``: every sample has mean :math:`\eta\mu_\xi`: one component :math:`(1, \eta)`.

Adding a model is adding one :class:`GroupLaw` to :data:`LAWS` (``tests/test_groups.py`` checks
every registered model's sampler and theory moments against its law). The component functions
use plain arithmetic only, so they work on floats, JAX arrays and sympy symbols alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["GroupLaw", "LAWS", "group_law", "register"]


@dataclasses.dataclass(frozen=True)
class GroupLaw:
    """A group model: ``components(eta) -> (weights, scales)``, two sequences of equal length.

    Attributes:
        name: the ``group_model`` value that selects it.
        summary: one line for help texts.
        components: :math:`\\eta \\mapsto ((\\pi_j(\\eta))_j, (a_j(\\eta))_j)`; weights sum to 1.
    """

    name: str
    summary: str
    components: Callable[[Any], tuple[Sequence[Any], Sequence[Any]]]

    def mean_scale(self, eta):
        r""":math:`E[s] = \sum_j \pi_j a_j`, so that :math:`E_\eta\xi = E[s]\,\mu_\xi`."""
        weights, scales = self.components(eta)
        return _sum(w * a for w, a in zip(weights, scales, strict=True))

    def second_scale(self, eta):
        r""":math:`E[s^2] = \sum_j \pi_j a_j^2`, the weight of :math:`\mu_\xi\mu_\xi^\top` in
        :math:`E_\eta\xi\xi^\top`."""
        weights, scales = self.components(eta)
        return _sum(w * a * a for w, a in zip(weights, scales, strict=True))

    def tails(self, eta) -> list:
        r"""Tail weights :math:`t_k = \sum_{i\ge k}\pi_i`, :math:`k = 1, \dots, J-1`: the sampler
        draws component :math:`j = \sum_k 1\{u < t_k\}` from a uniform :math:`u`."""
        weights, _ = self.components(eta)
        return [_sum(weights[k:]) for k in range(1, len(weights))]


def _sum(terms):
    """Left-to-right sum without a leading 0 (so one term is returned as it is)."""
    it = iter(terms)
    total = next(it)
    for t in it:
        total = total + t
    return total


LAWS: dict[str, GroupLaw] = {}


def register(law: GroupLaw) -> GroupLaw:
    """Add ``law`` to :data:`LAWS` under ``law.name`` (an existing name is an error)."""
    if law.name in LAWS:
        raise ValueError(f"group_model: {law.name!r} is already registered")
    LAWS[law.name] = law
    return law


def group_law(name: str) -> GroupLaw:
    """The registered law called ``name``; an unknown name is a ``ValueError`` naming the known ones."""
    try:
        return LAWS[name]
    except (KeyError, TypeError):
        raise ValueError(f"group_model: must be one of {tuple(LAWS)}, got {name!r}") from None


register(
    GroupLaw(
        "mixture",
        "xi | g ~ N(g mu_xi, sigma_xi^2 I), g ~ Bern(eta)",
        lambda eta: ((1 - eta, eta), (0, 1)),
    )
)
register(
    GroupLaw(
        "mean-shift",
        "xi ~ N(eta mu_xi, sigma_xi^2 I)",
        lambda eta: ((1,), (eta,)),
    )
)
