"""optlab: the shared code of the course "Optimizers, Hands-On".

Modules (see code/README.md for the map):

- :mod:`optlab.landscapes`   2-D test functions with their minima, start points and plot ranges
- :mod:`optlab.optimizers`   SGD, Adagrad, RMSprop, Adam and AdamW from scratch, matching Keras step for step
- :mod:`optlab.trajectories` run optimizers on a landscape inside one compiled loop
- :mod:`optlab.theory`       what theory predicts for gradient descent, momentum and RMSprop
- :mod:`optlab.plots`        contours with paths, loss curves, sweeps, LR range tests, animations
- :mod:`optlab.data`         MNIST-1D from data/, synthetic regression and sparse-feature problems
- :mod:`optlab.training`     seeded training runs, sweeps of many runs at once, the LR range test
- :mod:`optlab.noise`        per-example gradients and the noise of mini-batch gradients
- :mod:`optlab.checks`       exercise checkers that say where a learner's code differs
- :mod:`optlab.benchmarks`   published test problems and protocols (DeepOBS quadratic, Wilson et al.)
- :mod:`optlab.choosing`     flowcharts that cite their evidence, and a diagnosis of failed runs
- :mod:`optlab.display`      the package's source and sweep tables in a notebook
- :mod:`optlab.course`       the course's own files: links to a fork, the student edition
"""

__version__ = "0.1.0"
