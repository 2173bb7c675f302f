"""optlab: the shared code of the course "Optimizers, Hands-On".

Modules (see code/README.md for the map):

- :mod:`optlab.landscapes`   2-D test functions with their minima, start points and plot ranges
- :mod:`optlab.optimizers`   SGD, Adagrad, RMSprop and Adam from scratch, matching Keras step for step
- :mod:`optlab.trajectories` run optimizers on a landscape inside one compiled loop
- :mod:`optlab.theory`       what theory predicts for gradient descent on quadratics
- :mod:`optlab.plots`        contours with paths, loss curves, sweeps, LR range tests, animations
- :mod:`optlab.data`         MNIST-1D from data/, synthetic regression and sparse-feature problems
- :mod:`optlab.training`     seeded training runs, sweeps of many runs at once, the LR range test
- :mod:`optlab.noise`        per-example gradients and the noise of mini-batch gradients
- :mod:`optlab.checks`       exercise checkers that say where a learner's code differs
"""

__version__ = "0.1.0"
