r"""The chapter's update rules, each written exactly once.

A rule is a pair of pure functions, in the spirit of optax:

* ``init(p, xp)`` returns the rule's state for parameter ``p`` as a tuple of
  arrays shaped like ``p`` (the empty tuple for plain SGD);
* ``update(p, g, state, hp, t, xp)`` returns ``(new_p, new_state)``.

``xp`` is a small array namespace (see :mod:`d2l_optim.ops`) that needs only
arithmetic operators plus ``sqrt``, ``sign`` and ``zeros_like``, so the same
function runs on Python floats (the 2-D experiments), NumPy arrays, and
PyTorch, TensorFlow or MXNet tensors. ``hp`` is the book's ``hyperparams``
dict and ``t`` the 1-based step count, which :func:`apply_rule` advances, once
per call, in ``hp['t']`` exactly as the book's Adam does.

Names follow the book: ``lr`` is :math:`\eta`; ``momentum``; ``gamma`` for
RMSProp; ``rho`` for Adadelta; ``beta1``/``beta2`` for Adam and Yogi.
"""
from __future__ import annotations

import difflib
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, MutableMapping, NamedTuple, Sequence

State = tuple


def _zeros(n: int) -> Callable[[Any, Any], State]:
    def init(p: Any, xp: Any) -> State:
        return tuple(xp.zeros_like(p) for _ in range(n))
    return init


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
    return p - hp['lr'] * v, (v,)


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
    return p - hp['lr'] * (g + hp['momentum'] * v), (v,)


def adagrad(p, g, state, hp, t, xp):
    r"""Adagrad (11.7).

    .. math::
        \mathbf{s} \leftarrow \mathbf{s} + \mathbf{g}^2, \qquad
        \mathbf{x} \leftarrow \mathbf{x} - \frac{\eta}{\sqrt{\mathbf{s} + \epsilon}} \mathbf{g},
        \quad \epsilon = 10^{-6}

    PyTorch adds :math:`\epsilon` outside the square root (1e-10); Keras starts
    :math:`\mathbf{s}` at 0.1.
    """
    (s,) = state
    s = s + g * g
    return p - hp['lr'] * g / xp.sqrt(s + hp.get('eps', 1e-6)), (s,)


def rmsprop(p, g, state, hp, t, xp):
    r"""RMSProp (11.8).

    .. math::
        \mathbf{s} \leftarrow \gamma \mathbf{s} + (1 - \gamma) \mathbf{g}^2, \qquad
        \mathbf{x} \leftarrow \mathbf{x} - \frac{\eta}{\sqrt{\mathbf{s} + \epsilon}} \mathbf{g},
        \quad \epsilon = 10^{-6}

    PyTorch's ``RMSprop(alpha=gamma)`` puts :math:`\epsilon` outside the root;
    Keras 3 puts it inside, as here (docs/scratch-vs-builtin.md has the measured gaps).
    """
    (s,) = state
    gamma = hp['gamma']
    s = gamma * s + (1 - gamma) * (g * g)
    return p - hp['lr'] * g / xp.sqrt(s + hp.get('eps', 1e-6)), (s,)


def adadelta(p, g, state, hp, t, xp):
    r"""Adadelta (11.9): no learning rate, the step's own scale replaces it.

    .. math::
        \mathbf{s} &\leftarrow \rho \mathbf{s} + (1 - \rho) \mathbf{g}^2 \\
        \mathbf{g}' &= \frac{\sqrt{\Delta\mathbf{x} + \epsilon}}{\sqrt{\mathbf{s} + \epsilon}} \odot \mathbf{g} \\
        \mathbf{x} &\leftarrow \mathbf{x} - \mathbf{g}' \\
        \Delta\mathbf{x} &\leftarrow \rho \Delta\mathbf{x} + (1 - \rho) \mathbf{g}'^2,
        \quad \epsilon = 10^{-5}

    Frameworks multiply :math:`\mathbf{g}'` by a learning rate (PyTorch 1.0, Keras 0.001).
    """
    s, delta = state
    rho, eps = hp['rho'], hp.get('eps', 1e-5)
    s = rho * s + (1 - rho) * (g * g)
    g_prime = xp.sqrt(delta + eps) / xp.sqrt(s + eps) * g
    delta = rho * delta + (1 - rho) * (g_prime * g_prime)
    return p - g_prime, (s, delta)


def _adam_step(p, v, s, hp, t, xp, eps):
    """The bias-corrected step Adam and Yogi share."""
    v_hat = v / (1 - hp.get('beta1', 0.9) ** t)
    s_hat = s / (1 - hp.get('beta2', 0.999) ** t)
    return p - hp['lr'] * v_hat / (xp.sqrt(s_hat) + eps)


def adam(p, g, state, hp, t, xp):
    r"""Adam (11.10) with bias correction, t starting at 1.

    .. math::
        \mathbf{v} &\leftarrow \beta_1 \mathbf{v} + (1 - \beta_1) \mathbf{g} \\
        \mathbf{s} &\leftarrow \beta_2 \mathbf{s} + (1 - \beta_2) \mathbf{g}^2 \\
        \mathbf{x} &\leftarrow \mathbf{x} - \eta \frac{\mathbf{v} / (1 - \beta_1^t)}
            {\sqrt{\mathbf{s} / (1 - \beta_2^t)} + \epsilon},
        \quad \epsilon = 10^{-6}

    Keras and Gluon use the "epsilon hat" form (epsilon added before the bias
    correction of the denominator), PyTorch uses this one with 1e-8.
    """
    v, s = state
    beta1, beta2 = hp.get('beta1', 0.9), hp.get('beta2', 0.999)
    v = beta1 * v + (1 - beta1) * g
    s = beta2 * s + (1 - beta2) * (g * g)
    return _adam_step(p, v, s, hp, t, xp, hp.get('eps', 1e-6)), (v, s)


def yogi(p, g, state, hp, t, xp):
    r"""Yogi (11.10; Zaheer et al. 2018): Adam whose second moment moves additively.

    .. math::
        \mathbf{s} \leftarrow \mathbf{s} + (1 - \beta_2)\,
            \operatorname{sign}(\mathbf{g}^2 - \mathbf{s}) \odot \mathbf{g}^2,
        \quad \epsilon = 10^{-3}

    The book's TensorFlow tab uses 1e-6; the paper and the other tabs use 1e-3.
    """
    v, s = state
    beta1, beta2 = hp.get('beta1', 0.9), hp.get('beta2', 0.999)
    g2 = g * g
    v = beta1 * v + (1 - beta1) * g
    s = s + (1 - beta2) * xp.sign(g2 - s) * g2
    return _adam_step(p, v, s, hp, t, xp, hp.get('eps', 1e-3)), (v, s)


@dataclass(frozen=True)
class Rule:
    """An update rule and every fact about it: its state record, the book's hyperparameters
    and names, and its eps.

    ``defaults`` are the book's airfoil hyperparameters (``required`` of them must be
    given); ``state`` is the rule's NamedTuple of state fields (None for plain SGD);
    ``book_name`` is the book's name for the optimizer function (``sgd_momentum``) and
    ``init_name`` that of its state initialiser (``init_momentum_states``).
    """

    name: str
    update: Callable[..., tuple]
    state: Any
    defaults: Mapping[str, float]
    required: tuple[str, ...]
    uses_t: bool = False
    eps: float | None = None
    book_name: str = ''
    init_name: str = ''
    init: Callable[[Any, Any], State] = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.init is None:
            object.__setattr__(self, 'init', _zeros(self.n_states))
        if not self.book_name:
            object.__setattr__(self, 'book_name', self.name)
        if not self.init_name and self.state is not None:
            stem = self.book_name.removeprefix('sgd_')
            object.__setattr__(self, 'init_name', f'init_{stem}_states')

    @property
    def n_states(self) -> int:
        """How many arrays of state the rule keeps per parameter."""
        return len(self.state._fields) if self.state is not None else 0

    @property
    def state_names(self) -> tuple[str, ...]:
        """The book's names of the state fields, in order (``('v', 's')`` for Adam)."""
        return tuple(self.state._fields) if self.state is not None else ()


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


RULES: dict[str, Rule] = {r.name: r for r in (
    Rule('sgd', sgd, None, {'lr': 0.05}, ('lr',)),
    Rule('momentum', momentum, VelocityState, {'lr': 0.005, 'momentum': 0.9}, ('lr', 'momentum'),
         book_name='sgd_momentum'),
    Rule('adagrad', adagrad, SquaresState, {'lr': 0.1}, ('lr',), eps=1e-6),
    Rule('rmsprop', rmsprop, SquaresState, {'lr': 0.01, 'gamma': 0.9}, ('lr', 'gamma'), eps=1e-6),
    Rule('adadelta', adadelta, AdadeltaState, {'rho': 0.9}, ('rho',), eps=1e-5),
    Rule('adam', adam, AdamState, {'lr': 0.01, 'beta1': 0.9, 'beta2': 0.999}, ('lr',),
         uses_t=True, eps=1e-6),
    Rule('yogi', yogi, AdamState, {'lr': 0.01, 'beta1': 0.9, 'beta2': 0.999}, ('lr',),
         uses_t=True, eps=1e-3),
)}

#: The book calls its momentum optimizer ``sgd_momentum``.
ALIASES = {'sgd_momentum': 'momentum'}

#: Rules beyond the book's chapter. Kept out of ``RULES``, which the book's names, the
#: CLI and the cross-backend tests enumerate; pass the ``Rule`` itself where a rule is expected.
NESTEROV = Rule('nesterov', nesterov, VelocityState, {'lr': 0.005, 'momentum': 0.9}, ('lr', 'momentum'))
EXTRA_RULES: dict[str, Rule] = {NESTEROV.name: NESTEROV}

_UNIT_INTERVAL = ('momentum', 'gamma', 'rho', 'beta1', 'beta2')


def get_rule(name: str | Rule) -> Rule:
    """Look a rule up by name; the error lists the valid names."""
    if isinstance(name, Rule):
        return name
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in RULES:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(RULES)}")
    return RULES[key]


#: every hyperparameter name a rule reads (``eps`` is optional; ``t`` is the step count)
KNOWN_HYPERPARAMS = ('lr', 'momentum', 'gamma', 'rho', 'beta1', 'beta2', 'eps', 't')


def validate_hyperparams(hyperparams: Mapping[str, Any], rule: Rule | None = None) -> None:
    """Reject missing, mistyped or out-of-range hyperparameters before any training starts.

    With a ``rule``, a key it does not read gets a warning that names the nearest
    valid key (``gama`` -> ``gamma``); without one (a framework's own optimizer,
    which takes its own keywords) only the book's names are checked.
    """
    if not isinstance(hyperparams, Mapping):
        raise TypeError(f"hyperparams must be a dict such as {{'lr': 0.01}}, got "
                        f"{type(hyperparams).__name__} {hyperparams!r}")
    if rule is not None:
        _warn_unknown(hyperparams, rule)
        missing = [k for k in rule.required if k not in hyperparams]
        if missing:
            raise ValueError(f"{rule.name} needs hyperparameter(s) {missing}; "
                             f"the book uses {dict(rule.defaults)}")
    for key, value in hyperparams.items():
        if key not in KNOWN_HYPERPARAMS:
            continue
        if key == 't':
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"t counts steps from 1, got {value!r}")
            continue
        if isinstance(value, (str, bytes, bool)) or value is None:
            example = f'{key}={float(value)!r}' if isinstance(value, str) and _is_number(value) \
                else f'{key}=0.01'
            raise TypeError(f"hyperparams[{key!r}] must be a number, got {value!r} "
                            f"({type(value).__name__}); e.g. {example}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"hyperparams[{key!r}] must be a number, got {value!r} "
                            f"({type(value).__name__})") from None
        if key in ('lr', 'eps') and not number > 0:
            raise ValueError(f"{key} must be > 0, got {value!r}")
        if key in ('lr', 'eps') and number == math.inf:
            raise ValueError(f"{key} must be finite, got {value!r}; the book's values are "
                             f"0.001 to 0.1")
        if key in _UNIT_INTERVAL and not 0 <= number < 1:
            raise ValueError(f"{key} must be in [0, 1), got {value!r}")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _warn_unknown(hyperparams: Mapping[str, Any], rule: Rule) -> None:
    reads = [*rule.defaults, 'eps'] + (['t'] if rule.uses_t else [])
    for key in hyperparams:
        if key in reads or key == 't':
            continue
        close = difflib.get_close_matches(str(key), reads, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"it reads: {', '.join(reads)}"
        warnings.warn(f"hyperparams key {key!r} is not used by {rule.name}; {hint}",
                      UserWarning, stacklevel=3)


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
