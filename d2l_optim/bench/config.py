"""What the bench measures: rules, batch sizes, variants, repeats, and what a ratio is taken against."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from ..backend import BACKENDS
from ..rules import get_rule

OPTIMIZERS = ('rmsprop', 'adam')
BATCH_SIZES = (1, 10, 100, 1500)
#: epochs per batch size: 300 steps at batch 10 (the book's run), at least 40 steps
#: elsewhere; batch 1 gets one epoch (1500 steps), eager TensorFlow pays per op
EPOCHS = {1: 1, 10: 2, 100: 10, 1500: 40}
#: backends whose batch-1 cells run fewer repeats (eager per-op cost x 1500 steps)
SLOW_AT_BATCH_1 = ('tensorflow', 'mxnet', 'jax')
HYPERPARAMS = {'rmsprop': {'lr': 0.01, 'gamma': 0.9}, 'adam': {'lr': 0.01}}
#: the framework's own optimizer per rule, as train_concise_ch11 takes it
BUILTIN = {
    'numpy': {'rmsprop': ('rmsprop', {'lr': 0.01, 'gamma': 0.9}), 'adam': ('adam', {'lr': 0.01})},
    'torch': {'rmsprop': ('RMSprop', {'lr': 0.01, 'alpha': 0.9}), 'adam': ('Adam', {'lr': 0.01})},
    'tensorflow': {'rmsprop': ('RMSprop', {'lr': 0.01, 'rho': 0.9}), 'adam': ('Adam', {'lr': 0.01})},
    'mxnet': {'rmsprop': ('rmsprop', {'learning_rate': 0.01, 'gamma1': 0.9}),
              'adam': ('adam', {'learning_rate': 0.01})},
    'jax': {'rmsprop': ('rmsprop', {'lr': 0.01, 'gamma': 0.9}), 'adam': ('adam', {'lr': 0.01})},
}
VARIANTS = ('floor', 'scratch', 'floor_compiled', 'scratch_compiled',
            'floor_builtin', 'concise', 'floor_builtin_compiled', 'concise_compiled')
#: what each variant's ratio is taken against (NumPy has no optimizer library: its
#: concise path runs a core rule, so its baseline falls back to the plain floor)
BASELINE = {'scratch': 'floor', 'scratch_compiled': 'floor_compiled',
            'concise': 'floor_builtin', 'concise_compiled': 'floor_builtin_compiled'}
#: a compiled variant and its eager twin (the speedup of compiling)
EAGER = {'floor_compiled': 'floor', 'scratch_compiled': 'scratch',
         'floor_builtin_compiled': 'floor_builtin', 'concise_compiled': 'concise'}


@dataclass
class BenchConfig:
    """What to measure; :meth:`quick` is the tiny configuration the tests use."""

    backends: Sequence[str]
    optimizers: Sequence[str] = OPTIMIZERS
    batch_sizes: Sequence[int] = BATCH_SIZES
    repeats: int = 3                        # timed calls per variant, at least ...
    slow_repeats: int = 2                   # ... (TF/MXNet at batch size 1: at most this many)
    min_seconds: float = 1.5                # ... and more rounds until a cell took this long,
    max_repeats: int = 15                   # up to this many (cheap cells get steadier medians)
    epochs: dict = field(default_factory=lambda: dict(EPOCHS))
    n: int = 1500                           # airfoil rows used
    variants: Sequence[str] = VARIANTS
    seed: int = 0
    torch_compile: bool = False             # also time torch.compile (not offered; slow)

    @classmethod
    def quick(cls, backends: Sequence[str], **overrides: Any) -> 'BenchConfig':
        cfg = dict(batch_sizes=(10, 100), repeats=1, slow_repeats=1, epochs={10: 1, 100: 2}, n=200,
                   min_seconds=0.0)
        cfg.update(overrides)
        return cls(backends=list(backends), **cfg)

    def epochs_for(self, batch_size: int) -> int:
        return int(self.epochs.get(batch_size, 2))

    def repeats_for(self, backend: str, batch_size: int) -> int:
        slow = backend in SLOW_AT_BATCH_1 and batch_size == 1
        return max(1, min(self.repeats, self.slow_repeats) if slow else self.repeats)

    def validate(self) -> None:
        for b in self.backends:
            if b not in BACKENDS:
                raise ValueError(f"unknown backend {b!r}; choose one of: {', '.join(BACKENDS)}")
        for o in self.optimizers:
            if get_rule(o).name not in HYPERPARAMS:
                raise ValueError(f"the bench times {', '.join(HYPERPARAMS)}, not {o!r}")
        for v in self.variants:
            if v not in VARIANTS:
                raise ValueError(f"unknown variant {v!r}; choose from: {', '.join(VARIANTS)}")
        if not 0 < self.n <= 1503:
            raise ValueError(f'n must be in [1, 1503], got {self.n}')
        for bs in self.batch_sizes:
            if not isinstance(bs, int) or not 0 < bs <= self.n:
                raise ValueError(f'batch sizes must be integers in [1, {self.n}], got {bs!r}')
        if not 1 <= self.repeats <= self.max_repeats or self.slow_repeats < 1:
            raise ValueError(f'repeats must be in [1, {self.max_repeats}], got {self.repeats}'
                             + (f'/{self.slow_repeats}' if self.slow_repeats < 1 else ''))

    def to_json(self) -> dict:
        """The configuration as the report's ``config``, with the epochs and repeats each cell got."""
        d = asdict(self)
        d['backends'], d['optimizers'] = list(self.backends), list(self.optimizers)
        d['batch_sizes'], d['variants'] = list(self.batch_sizes), list(self.variants)
        d['epochs'] = {str(bs): self.epochs_for(bs) for bs in self.batch_sizes}
        d['repeats_per_cell'] = {b: {str(bs): self.repeats_for(b, bs) for bs in self.batch_sizes}
                                 for b in self.backends}
        return d


#: modules whose import the bench reports (``import d2l_optim`` must load none of them)
FRAMEWORKS = ('torch', 'tensorflow', 'mxnet', 'jax', 'matplotlib')
#: the reproduce row that ran every backend in one process (the issue 11 goal)
ALL_BACKENDS_ROW = 'all four'
ALL_FOUR = {'numpy', 'torch', 'tensorflow', 'mxnet'}
