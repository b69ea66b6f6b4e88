"""Small section notebooks for the lab tests: an RMSProp pure rule (a region in a def), an Adam
book-form cell (the whole cell a region), a momentum rule (an inline `# SOLUTION` line)."""
import nbformat

RMSPROP = '''def my_rmsprop(p, g, state, hp, t, xp):
    # BEGIN SOLUTION
    (s,) = state
    s = hp['gamma'] * s + (1 - hp['gamma']) * g * g
    return p - hp['lr'] * g / xp.sqrt(s + 1e-6), (s,)
    # END SOLUTION'''

ADAM_CELL = '''# BEGIN SOLUTION
def my_adam(params, grads, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s), g in zip(params, states, grads):
        v[:] = beta1 * v + (1 - beta1) * g
        s[:] = beta2 * s + (1 - beta2) * g * g
        v_hat = v / (1 - beta1 ** hyperparams['t'])
        s_hat = s / (1 - beta2 ** hyperparams['t'])
        p[:] -= hyperparams['lr'] * v_hat / (np.sqrt(s_hat) + eps)
    hyperparams['t'] += 1
# END SOLUTION'''

MOMENTUM = '''def my_momentum(params, grads, states, hyperparams):
    for p, v, g in zip(params, states, grads):
        beta = hyperparams['momentum']  # SOLUTION
        v[:] = beta * v + g
        p[:] -= hyperparams['lr'] * v'''


def notebook(path, *cells, solution_answer=True):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('BACKEND = "numpy"')
    params.metadata['tags'] = ['parameters']
    nb.cells = [nbformat.v4.new_markdown_cell(f'# {path.stem}'), params,
                nbformat.v4.new_code_cell('import numpy as np\nfrom d2l_optim import load_backend\n'
                                          'd2l = load_backend(BACKEND)')]
    for c in cells:
        nb.cells.append(c if not isinstance(c, str) else nbformat.v4.new_code_cell(c))
    if solution_answer:
        answer = nbformat.v4.new_markdown_cell('The answer: eps inside the root.')
        answer.metadata['tags'] = ['solution']
        nb.cells.append(answer)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path

#: the learner's answers, as a student would type them into the stub cells
RMSPROP_RIGHT = RMSPROP.replace('    # BEGIN SOLUTION\n', '').replace('\n    # END SOLUTION', '')
RMSPROP_EPS_OUTSIDE = RMSPROP_RIGHT.replace('xp.sqrt(s + 1e-6)', '(xp.sqrt(s) + 1e-6)')
ADAM_RIGHT = ADAM_CELL.replace('# BEGIN SOLUTION\n', '').replace('\n# END SOLUTION', '')
MOMENTUM_RIGHT = MOMENTUM.replace('  # SOLUTION', '')


def make_sections(src):
    """The two section notebooks the lab tests build from: 11.8 (two checks), 11.6 (one)."""
    notebook(src / '11.8-rmsprop.ipynb', RMSPROP, "d2l.check(my_rmsprop, 'rmsprop')",
             ADAM_CELL, "result = d2l.check(my_adam, 'adam')\nresult")
    notebook(src / '11.6-momentum.ipynb', MOMENTUM, "print(d2l.check(my_momentum, 'momentum'))")
    return src


def answer(nb, starts, code):
    """Put ``code`` into the first code cell whose source starts with ``starts``."""
    cell = next(c for c in nb.cells if c.cell_type == 'code' and c.source.startswith(starts))
    cell.source = code
    return nb
