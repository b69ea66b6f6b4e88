"""A book cell's own ``train_concise_ch11``, written with each framework's MSE/L2 loss and our
helpers (``get_data_ch11``, ``Animator``, ``Timer``, ``evaluate_loss``), gives our final loss.

The book's PyTorch and TensorFlow tabs train on ``MSELoss``/``MeanSquaredError`` (no 1/2), so
their gradients are twice ours: their SGD at lr 0.01 takes our steps at lr 0.02, and they divide
the evaluated loss by 2. Gluon's ``L2Loss`` has the 1/2, as ours. Before ``evaluate_loss``
reshaped y to the output, PyTorch's ``reduction='none'`` broadcast (1500,) against (1500, 1)
to a (1500, 1500) matrix and the PyTorch cell printed ``loss: 0.682`` instead of 0.243.
"""
import numpy as np
import pytest

from conftest import load_or_skip

SEED, EPOCHS = 0, 2


def book_start(d2l, batch_size=10):
    """The data and the first weights exactly as ``fit_concise_ch11(seed=SEED)`` draws them."""
    data_iter, feature_dim = d2l.get_data_ch11(batch_size)
    rng = np.random.default_rng(SEED)
    data_iter.rng = rng         # minibatch order from the same generator as the weights
    w0 = rng.normal(0.0, 0.01, size=(feature_dim, 1)).astype(np.float32)
    return data_iter, w0, np.zeros(1, np.float32)


def book_loop(d2l, data_iter, step, evaluate, num_epochs=EPOCHS):
    """The book's loop body: a step per minibatch, an Animator point every 200 examples."""
    animator = d2l.Animator(xlabel='epoch', ylabel='loss', xlim=[0, num_epochs], ylim=[0.22, 0.35])
    n, timer = 0, d2l.Timer()
    for _ in range(num_epochs):
        for X, y in data_iter:
            step(X, y)
            n += X.shape[0]
            if n % 200 == 0:
                timer.stop()
                animator.add(n / X.shape[0] / len(data_iter), (evaluate(),))
                timer.start()
    print(f'loss: {animator.Y[0][-1]:.3f}, {timer.sum() / num_epochs:.3f} sec/epoch')
    return animator.Y[0]


def ours(d2l, trainer, hyperparams):
    data_iter, _ = d2l.get_data_ch11(10)
    return d2l.fit_concise_ch11(trainer, hyperparams, data_iter, EPOCHS, seed=SEED).losses


def test_torch_mseloss_reduction_none():
    torch = pytest.importorskip('torch')
    from d2l_optim.backends import torch as d2l
    data_iter, w0, b0 = book_start(d2l)
    net = torch.nn.Sequential(torch.nn.Linear(5, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(w0.T.copy()))
        net[0].bias.copy_(torch.from_numpy(b0))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    loss = torch.nn.MSELoss(reduction='none')

    def step(X, y):
        optimizer.zero_grad()
        out = net(X)
        loss(out, y.reshape(out.shape)).mean().backward()
        optimizer.step()
    book = book_loop(d2l, data_iter, step, lambda: d2l.evaluate_loss(net, data_iter, loss) / 2)
    mine = ours(d2l, torch.optim.SGD, {'lr': 0.02})
    assert len(book) == len(mine) == 15
    assert book[-1] == pytest.approx(0.243, abs=0.005)
    np.testing.assert_allclose(book, mine, atol=1e-5)


def test_torch_mseloss_through_load_array_and_its_dataloader():
    torch = pytest.importorskip('torch')
    from d2l_optim.backends import torch as d2l
    data_iter, w0, b0 = book_start(d2l)
    X, y = data_iter.full()
    net = torch.nn.Linear(5, 1)
    with torch.no_grad():
        net.weight.copy_(torch.from_numpy(w0.T.copy()) + 0.5)
        net.bias.zero_()
    loader = d2l.load_array((X, y), 100, is_train=False)         # tensors, as the book passes
    per_batch = d2l.evaluate_loss(net, loader, torch.nn.MSELoss(reduction='none'))
    whole = d2l.evaluate_loss(net, data_iter, torch.nn.MSELoss(reduction='none'))
    expected = float(np.mean(((X.numpy() @ (w0 + 0.5)).ravel() - y.numpy()) ** 2))
    assert per_batch == pytest.approx(expected, rel=1e-5) and whole == pytest.approx(expected, rel=1e-5)
    # the book's own squared_loss and linreg take framework tensors of either label shape
    w, b = torch.from_numpy(w0 + 0.5), torch.zeros(1)
    ours_half = d2l.evaluate_loss(lambda X: d2l.linreg(X, w, b), loader, d2l.squared_loss)
    assert ours_half == pytest.approx(expected / 2, rel=1e-5)


def test_keras_mean_squared_error():
    tf = pytest.importorskip('tensorflow')
    from d2l_optim.backends import tensorflow as d2l
    data_iter, w0, b0 = book_start(d2l)
    net = tf.keras.Sequential([tf.keras.Input((5,)), tf.keras.layers.Dense(
        1, kernel_initializer=tf.keras.initializers.Constant(w0),
        bias_initializer=tf.keras.initializers.Zeros())])
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.01)
    loss = tf.keras.losses.MeanSquaredError()

    def step(X, y):
        with tf.GradientTape() as g:
            l = loss(y, net(X))
        params = net.trainable_variables
        optimizer.apply_gradients(zip(g.gradient(l, params), params))
    book = book_loop(d2l, data_iter, step, lambda: d2l.evaluate_loss(net, data_iter, loss) / 2)
    mine = ours(d2l, 'SGD', {'lr': 0.02})
    assert book[-1] == pytest.approx(0.243, abs=0.005)
    np.testing.assert_allclose(book, mine, atol=1e-5)
    # a Keras loss without reduction gives one value per example, the same mean
    per_example = tf.keras.losses.MeanSquaredError(reduction=None)
    assert d2l.evaluate_loss(net, data_iter, per_example) / 2 == pytest.approx(book[-1], abs=1e-6)


def test_gluon_l2loss():
    d2l = load_or_skip('mxnet')      # before `import mxnet`: the adapter's numpy.bool shim comes first
    from mxnet import autograd, gluon, init, np as mnp
    data_iter, w0, b0 = book_start(d2l)
    net = gluon.nn.Sequential()
    net.add(gluon.nn.Dense(1, in_units=5))
    net.initialize(init.Normal(sigma=0.01))
    net[0].weight.set_data(mnp.array(w0.T))
    net[0].bias.set_data(mnp.array(b0))
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.05})   # the book's MXNet tab
    loss = gluon.loss.L2Loss()

    def step(X, y):
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(X.shape[0])
    book = book_loop(d2l, data_iter, step, lambda: d2l.evaluate_loss(net, data_iter, loss))
    mine = ours(d2l, 'sgd', {'learning_rate': 0.05})
    assert book[-1] == pytest.approx(0.243, abs=0.005)
    np.testing.assert_allclose(book, mine, atol=1e-5)


def test_numpy_squared_loss_with_either_label_shape():
    from d2l_optim.backends import numpy as d2l
    data_iter, w0, b0 = book_start(d2l)
    net = lambda X: d2l.linreg(X, w0, b0)  # noqa: E731
    X, y = data_iter.full()
    expected = float(np.mean(((X @ w0).ravel() - y) ** 2) / 2)
    flat = d2l.evaluate_loss(net, data_iter, lambda out, y: (out - y) ** 2 / 2)   # no reshape
    batches = d2l.evaluate_loss(net, list(data_iter), d2l.squared_loss)
    assert flat == pytest.approx(expected, rel=1e-6) and batches == pytest.approx(expected, rel=1e-6)
    assert d2l.squared_loss(net(X), y).shape == (1500, 1)
    assert d2l.squared_loss(net(X), y.reshape(-1, 1)).shape == (1500, 1)


def test_train_2d_takes_the_books_trainer_with_and_without_f_grad():
    from d2l_optim.backends import numpy as d2l

    def f_grad(x1, x2):
        return 0.2 * x1, 4 * x2

    def sgd_2d(x1, x2, s1, s2, f_grad=f_grad):     # the book's 11.4 trainer signature
        g1, g2 = f_grad(x1, x2)
        return x1 - 0.1 * g1, x2 - 0.1 * g2, 0, 0
    plain = d2l.train_2d(sgd_2d, steps=20)
    passed = d2l.train_2d(sgd_2d, steps=20, f_grad=f_grad)
    assert plain == passed and len(plain) == 21
    assert plain[-1] == pytest.approx((-5 * 0.98 ** 20, -2 * 0.6 ** 20))


@pytest.mark.parametrize('name', ['numpy', 'torch', 'tensorflow', 'mxnet'])
def test_load_array_animator_and_timer_take_what_the_books_cells_pass(name):
    d2l = load_or_skip(name)
    X = np.arange(60, dtype=np.float32).reshape(12, 5)
    y = np.arange(12, dtype=np.float32)
    for arrays in [(X, y), (d2l.tensor(X), d2l.tensor(y))]:         # NumPy arrays or tensors
        for loader in (d2l.load_array(arrays, 5), d2l.load_array(arrays, 5, is_train=False)):
            batches = [(d2l.numpy(a) if name != 'numpy' else a, d2l.numpy(b) if name != 'numpy' else b)
                       for a, b in loader]
            assert [a.shape for a, _ in batches] == [(5, 5), (5, 5), (2, 5)]
            np.testing.assert_array_equal(np.sort(np.concatenate([b for _, b in batches])), y)
    animator = d2l.Animator(xlabel='epoch', ylabel='loss', xlim=[0, 2], ylim=[0.22, 0.35])
    scalar = d2l.tensor(np.float32(0.25)) if name != 'numpy' else np.float32(0.25)
    for y_value in [(0.3,), (scalar,), scalar, [0.2]]:           # a tuple, a 0-d tensor, a list
        animator.add(1.0, y_value)
    assert animator.Y[0] == pytest.approx([0.3, 0.25, 0.25, 0.2])
    with pytest.raises(ValueError, match=r'got 2 y value\(s\), but it draws 1 curve'):
        animator.add(2.0, (0.1, 0.2))
    timer = d2l.Timer()
    timer.stop()
    timer.start()
    timer.stop()
    assert len(timer.times) == 2 and timer.cumsum()[-1] == pytest.approx(timer.sum())
