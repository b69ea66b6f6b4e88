"""``d2l-optim compare-2d [--out DIR]``: SGD, Momentum, AdaGrad and Adam on x^2/20 + y^2."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: file name -> (zoo function, what it shows)
FIGURES = {
    'compare-2d.png': ('plot_trajectories', 'four trajectories over the contour lines'),
    'surface-3d.png': ('plot_surface', 'the surface with its contours underneath'),
    'gradient-field.png': ('plot_gradient_field', 'the negative gradients'),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('--out', default=None, help='folder for the PNGs (none written without it)')
    p.add_argument('--steps', type=int, default=30, help='steps per optimizer (default: 30)')


def main(args: argparse.Namespace) -> int:
    from .. import zoo
    from .common import check_out_dir
    if args.steps < 1:
        raise ValueError(f'--steps must be >= 1, got {args.steps}')
    check_out_dir(args.out)
    trajectories = zoo.compare(args.steps)
    x0, y0 = zoo.START
    print(f'f(x, y) = x^2/20 + y^2 from ({x0:g}, {y0:g}), {args.steps} steps:')
    for name, pts in trajectories.items():
        x, y = pts[-1]
        print(f'{name:<9} final point ({x: .6f}, {y: .6f})  f = {zoo.f(x, y):.6f}')
    if args.out:
        from ..plotting import save_figure
        for fname, (function, _) in FIGURES.items():
            fig = getattr(zoo, function)(trajectories) if function == 'plot_trajectories' \
                else getattr(zoo, function)()
            path = Path(args.out) / fname
            save_figure(fig, path)
            _close(fig)
            print(f'figure: {path}')
    return 0


def _close(fig) -> None:
    """Release a pyplot-managed figure (an interactive session); untracked ones need nothing."""
    plt = sys.modules.get('matplotlib.pyplot')
    if plt is not None:
        plt.close(fig)
