r"""The chapter's update rules, each written exactly once.

A rule is a pair of pure functions, in the spirit of optax:

* ``init(p, xp)`` returns the rule's state for parameter ``p``: its state record, a
  NamedTuple of arrays shaped like ``p`` (``AdamState(v, s)``; the empty tuple for plain SGD);
* ``update(p, g, state, hp, t, xp)`` returns ``(new_p, new_state)``, ``new_state`` the record.

``xp`` is a small array namespace (see :mod:`d2l_optim.ops`) that needs only
arithmetic operators plus ``sqrt``, ``sign`` and ``zeros_like``, so the same
function runs on Python floats (the 2-D experiments), NumPy arrays, and
PyTorch, TensorFlow or MXNet tensors. ``hp`` is the book's ``hyperparams``
dict and ``t`` the 1-based step count, which :func:`apply_rule` advances, once
per call, in ``hp['t']`` exactly as the book's Adam does.

Names follow the book: ``lr`` is :math:`\eta`; ``momentum``; ``gamma`` for
RMSProp; ``rho`` for Adadelta; ``beta1``/``beta2`` for Adam and Yogi.

Every other fact about a rule lives on its :class:`Rule`: the book's hyperparameters, its
eps, its state record's fields and its names in the book. A body reads ``hp['eps']`` and
``hp['beta1']`` without a default: marked with :func:`fills`, it is called with ``hp``
filled in from its rule.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, MutableMapping, NamedTuple, Sequence

State = tuple


class VelocityState(NamedTuple):
    """Momentum's velocity."""
    v: Any


class SquaresState(NamedTuple):
    """The running (sum or leaky average of) squared gradients of Adagrad and RMSProp."""
    s: Any


class AdadeltaState(NamedTuple):
    """Adadelta's average of squared gradients and of squared steps."""
    s: Any
    delta: Any


class AdamState(NamedTuple):
    """First and second moment estimates of Adam and Yogi."""
    v: Any
    s: Any


def sgd(p, g, state, hp, t, xp):
    r"""Stochastic gradient descent (11.4).

    .. math:: \mathbf{x} \leftarrow \mathbf{x} - \eta \mathbf{g}
    """
    return p - hp['lr'] * g, state


def momentum(p, g, state, hp, t, xp):
    r"""Heavy-ball momentum (11.6), the book's form without dampening.

    .. math::
        \mathbf{v} \leftarrow \beta \mathbf{v} + \mathbf{g}, \qquad
        \mathbf{x} \leftarrow \mathbf{x} - \eta \mathbf{v}

    Same as ``torch.optim.SGD(momentum=beta)``; Keras and Gluon keep
    :math:`\eta` inside the velocity, which only differs when :math:`\eta` changes.
    """
    (v,) = state
    v = hp['momentum'] * v + g
    return p - hp['lr'] * v, VelocityState(v)


def nesterov(p, g, state, hp, t, xp):
    r"""Nesterov momentum in PyTorch's ``SGD(momentum=beta, nesterov=True)`` form; not in the book.

    .. math::
        \mathbf{v} \leftarrow \beta \mathbf{v} + \mathbf{g}, \qquad
        \mathbf{x} \leftarrow \mathbf{x} - \eta (\mathbf{g} + \beta \mathbf{v})

    The gradient is taken at :math:`\mathbf{x}` itself, not at a look-ahead point
    (the rewriting of Bengio et al. 2012). The classic NumPy courses keep
    :math:`\eta` in the velocity, :math:`\mathbf{u} \leftarrow \beta \mathbf{u} - \eta \mathbf{g}`,
    :math:`\mathbf{x} \leftarrow \mathbf{x} + \beta \mathbf{u} - \eta \mathbf{g}`; with
    :math:`\mathbf{u} = -\eta \mathbf{v}` that is this rule whenever :math:`\eta` is fixed.
    """
    (v,) = state
    v = hp['momentum'] * v + g
    return p - hp['lr'] * (g + hp['momentum'] * v), VelocityState(v)


def adagrad(p, g, state, hp, t, xp):
    r"""Adagrad (11.7).

    .. math::
        \mathbf{s} \leftarrow \mathbf{s} + \mathbf{g}^2, \qquad
        \mathbf{x} \leftarrow \mathbf{x} - \frac{\eta}{\sqrt{\mathbf{s} + \epsilon}} \mathbf{g}

    PyTorch adds :math:`\epsilon` outside the square root (1e-10); Keras starts
    :math:`\mathbf{s}` at 0.1.
    """
    (s,) = state
    s = s + g * g
    return p - hp['lr'] * g / xp.sqrt(s + hp['eps']), SquaresState(s)


def rmsprop(p, g, state, hp, t, xp):
    r"""RMSProp (11.8).

    .. math::
        \mathbf{s} \leftarrow \gamma \mathbf{s} + (1 - \gamma) \mathbf{g}^2, \qquad
        \mathbf{x} \leftarrow \mathbf{x} - \frac{\eta}{\sqrt{\mathbf{s} + \epsilon}} \mathbf{g}

    PyTorch's ``RMSprop(alpha=gamma)`` puts :math:`\epsilon` outside the root;
    Keras 3 puts it inside, as here (docs/scratch-vs-builtin.md has the measured gaps).
    """
    (s,) = state
    gamma = hp['gamma']
    s = gamma * s + (1 - gamma) * (g * g)
    return p - hp['lr'] * g / xp.sqrt(s + hp['eps']), SquaresState(s)


def adadelta(p, g, state, hp, t, xp):
    r"""Adadelta (11.9): no learning rate, the step's own scale replaces it.

    .. math::
        \mathbf{s} &\leftarrow \rho \mathbf{s} + (1 - \rho) \mathbf{g}^2 \\
        \mathbf{g}' &= \frac{\sqrt{\Delta\mathbf{x} + \epsilon}}{\sqrt{\mathbf{s} + \epsilon}} \odot \mathbf{g} \\
        \mathbf{x} &\leftarrow \mathbf{x} - \mathbf{g}' \\
        \Delta\mathbf{x} &\leftarrow \rho \Delta\mathbf{x} + (1 - \rho) \mathbf{g}'^2

    Frameworks multiply :math:`\mathbf{g}'` by a learning rate (PyTorch 1.0, Keras 0.001).
    """
    s, delta = state
    rho, eps = hp['rho'], hp['eps']
    s = rho * s + (1 - rho) * (g * g)
    g_prime = xp.sqrt(delta + eps) / xp.sqrt(s + eps) * g
    delta = rho * delta + (1 - rho) * (g_prime * g_prime)
    return p - g_prime, AdadeltaState(s, delta)


def _adam_step(p, v, s, hp, t, xp):
    """The bias-corrected step Adam and Yogi share."""
    v_hat = v / (1 - hp['beta1'] ** t)
    s_hat = s / (1 - hp['beta2'] ** t)
    return p - hp['lr'] * v_hat / (xp.sqrt(s_hat) + hp['eps'])


def adam(p, g, state, hp, t, xp):
    r"""Adam (11.10) with bias correction, t starting at 1.

    .. math::
        \mathbf{v} &\leftarrow \beta_1 \mathbf{v} + (1 - \beta_1) \mathbf{g} \\
        \mathbf{s} &\leftarrow \beta_2 \mathbf{s} + (1 - \beta_2) \mathbf{g}^2 \\
        \mathbf{x} &\leftarrow \mathbf{x} - \eta \frac{\mathbf{v} / (1 - \beta_1^t)}
            {\sqrt{\mathbf{s} / (1 - \beta_2^t)} + \epsilon}

    Keras and Gluon use the "epsilon hat" form (epsilon added before the bias
    correction of the denominator), PyTorch uses this one with 1e-8.
    """
    v, s = state
    beta1, beta2 = hp['beta1'], hp['beta2']
    v = beta1 * v + (1 - beta1) * g
    s = beta2 * s + (1 - beta2) * (g * g)
    return _adam_step(p, v, s, hp, t, xp), AdamState(v, s)


def yogi(p, g, state, hp, t, xp):
    r"""Yogi (11.10; Zaheer et al. 2018): Adam whose second moment moves additively.

    .. math::
        \mathbf{s} \leftarrow \mathbf{s} + (1 - \beta_2)\,
            \operatorname{sign}(\mathbf{g}^2 - \mathbf{s}) \odot \mathbf{g}^2

    Its :math:`\epsilon` (``Rule.eps``) is the paper's, as in the book's other tabs; the
    book's TensorFlow tab's value is in ``Rule.eps_alternatives``.
    """
    v, s = state
    beta1, beta2 = hp['beta1'], hp['beta2']
    g2 = g * g
    v = beta1 * v + (1 - beta1) * g
    s = s + (1 - beta2) * xp.sign(g2 - s) * g2
    return _adam_step(p, v, s, hp, t, xp), AdamState(v, s)


def _zeros(state: Any) -> Callable[[Any, Any], State]:
    def init(p: Any, xp: Any) -> State:
        return () if state is None else state(*(xp.zeros_like(p) for _ in state._fields))
    return init


def fills(body: Callable) -> Callable:
    """Mark ``body`` as a rule body that reads ``hp['eps']`` and its optional hyperparameters
    (``hp['beta1']``) without a default: the :class:`Rule` it is given to calls it with ``hp``
    filled in from the rule's own ``eps`` and ``defaults`` (what ``hp`` holds wins).

    A function given to a Rule unmarked (a learner's, through ``dataclasses.replace(rule,
    update=fn)``) is called with ``hp`` exactly as the caller passes it.
    """
    return _with_fallbacks(body, {})


def _with_fallbacks(body: Callable, fallbacks: Mapping[str, Any]) -> Callable:
    @functools.wraps(body)        # the book's names, docstring and source stay the body's
    def update(p, g, state, hp, t, xp):
        return body(p, g, state, {**fallbacks, **hp}, t, xp)
    update.fallbacks = dict(fallbacks)
    return update


@dataclass(frozen=True)
class Rule:
    """An update rule and every fact about it: its state record, the book's hyperparameters
    and names, and its eps.

    ``defaults`` are the book's airfoil hyperparameters (``required`` of them must be
    given); ``state`` is the rule's NamedTuple of state fields (None for plain SGD);
    ``eps`` is the book's epsilon (None for a rule without one) and
    ``eps_alternatives`` other values the book itself uses for it; ``book_name`` is the
    book's name for the optimizer function (``sgd_momentum``) and ``init_name`` that of
    its state initialiser (``init_momentum_states``).

    An ``update`` marked with :func:`fills` (the library's rules) sees ``hp`` filled in
    with :attr:`fallbacks`, so its body reads ``hp['eps']`` and carries no constant;
    ``dataclasses.replace(rule, eps=...)`` refills it with the new value.
    """

    name: str
    update: Callable[..., tuple]
    state: Any
    defaults: Mapping[str, float]
    required: tuple[str, ...]
    uses_t: bool = False
    eps: float | None = None
    eps_alternatives: tuple[float, ...] = ()
    book_name: str = ''
    init_name: str = ''
    init: Callable[[Any, Any], State] = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.init is None:
            object.__setattr__(self, 'init', _zeros(self.state))
        if not self.book_name:
            object.__setattr__(self, 'book_name', self.name)
        if not self.init_name and self.state is not None:
            stem = self.book_name.removeprefix('sgd_')
            object.__setattr__(self, 'init_name', f'init_{stem}_states')
        if getattr(self.update, 'fallbacks', None) not in (None, self.fallbacks):
            object.__setattr__(self, 'update', _with_fallbacks(self.update.__wrapped__, self.fallbacks))

    @property
    def n_states(self) -> int:
        """How many arrays of state the rule keeps per parameter."""
        return len(self.state._fields) if self.state is not None else 0

    @property
    def state_names(self) -> tuple[str, ...]:
        """The book's names of the state fields, in order (``('v', 's')`` for Adam)."""
        return tuple(self.state._fields) if self.state is not None else ()

    @property
    def hyperparams(self) -> tuple[str, ...]:
        """Every hyperparameter the rule reads: its defaults' names, then ``eps`` if it has one."""
        return (*self.defaults, *(('eps',) if self.eps is not None else ()))

    @property
    def fallbacks(self) -> dict[str, float]:
        """What a :func:`fills` body finds in ``hp`` when the caller left it out: the
        defaults that are not required (Adam's betas) and ``eps``."""
        out = {k: v for k, v in self.defaults.items() if k not in self.required}
        return {**out, 'eps': self.eps} if self.eps is not None else out


RULES: dict[str, Rule] = {r.name: r for r in (
    Rule('sgd', fills(sgd), None, {'lr': 0.05}, ('lr',)),
    Rule('momentum', fills(momentum), VelocityState, {'lr': 0.005, 'momentum': 0.9},
         ('lr', 'momentum'), book_name='sgd_momentum'),
    Rule('adagrad', fills(adagrad), SquaresState, {'lr': 0.1}, ('lr',), eps=1e-6),
    Rule('rmsprop', fills(rmsprop), SquaresState, {'lr': 0.01, 'gamma': 0.9}, ('lr', 'gamma'),
         eps=1e-6),
    Rule('adadelta', fills(adadelta), AdadeltaState, {'rho': 0.9}, ('rho',), eps=1e-5),
    Rule('adam', fills(adam), AdamState, {'lr': 0.01, 'beta1': 0.9, 'beta2': 0.999}, ('lr',),
         uses_t=True, eps=1e-6),
    Rule('yogi', fills(yogi), AdamState, {'lr': 0.01, 'beta1': 0.9, 'beta2': 0.999}, ('lr',),
         uses_t=True, eps=1e-3, eps_alternatives=(1e-6,)),     # 1e-6: the book's TensorFlow tab
)}

#: A rule's book name, where it is not the rule's name: ``sgd_momentum`` for momentum.
ALIASES = {r.book_name: r.name for r in RULES.values() if r.book_name != r.name}

#: Rules beyond the book's chapter. Kept out of ``RULES``, which the book's names, the
#: CLI and the cross-backend tests enumerate; pass the ``Rule`` itself where a rule is expected.
NESTEROV = Rule('nesterov', fills(nesterov), VelocityState, {'lr': 0.005, 'momentum': 0.9},
                ('lr', 'momentum'))
EXTRA_RULES: dict[str, Rule] = {NESTEROV.name: NESTEROV}

# The module's names are the updates the library runs (hp filled in as above), so that
# ``rules.adam(p, g, state, {'lr': 0.01}, t, xp)`` is the book's Adam, as ``RULES['adam'].update`` is.
sgd, momentum, adagrad, rmsprop, adadelta, adam, yogi = (RULES[n].update for n in (
    'sgd', 'momentum', 'adagrad', 'rmsprop', 'adadelta', 'adam', 'yogi'))
nesterov = NESTEROV.update


def get_rule(name: str | Rule) -> Rule:
    """Look a rule up by name; the error lists the valid names."""
    if isinstance(name, Rule):
        return name
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in RULES:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(RULES)}")
    return RULES[key]


def apply_rule(rule: Rule, params: Sequence, grads: Sequence, states: Sequence | None,
               hyperparams: MutableMapping[str, Any], xp: Any) -> tuple[list, list]:
    """One step of ``rule`` on every parameter: returns the new params and states.

    States are per parameter, laid out as the book's ``init_*_states`` return them
    (the array itself for one-state rules, a tuple for two). This is the one place
    where the step count ``hyperparams['t']`` advances.
    """
    t = hyperparams.setdefault('t', 1) if rule.uses_t else 1
    new_params, new_states = [], []
    for i, (p, g) in enumerate(zip(params, grads)):
        state = _unpack(rule, states[i] if states else None, p, xp)
        p, state = rule.update(p, g, state, hyperparams, t, xp)
        new_params.append(p)
        new_states.append(_pack(rule, state))
    if rule.uses_t:
        hyperparams['t'] = t + 1
    return new_params, new_states


def _unpack(rule: Rule, state: Any, p: Any, xp: Any) -> State:
    if rule.n_states == 0:
        return ()
    if state is None or (not isinstance(state, tuple) and rule.n_states > 1 and _is_zero(state)):
        return rule.init(p, xp)
    return state if rule.n_states > 1 else (state,)


def _pack(rule: Rule, state: State) -> Any:
    if rule.n_states == 0:
        return None
    return state if rule.n_states > 1 else state[0]


def _is_zero(x: Any) -> bool:
    return isinstance(x, (int, float)) and x == 0
