"""optlab: the shared code of the course "Optimizers, Hands-On".

Modules (see code/README.md for the map):

- :mod:`optlab.landscapes`   2-D test functions with their minima, start points and plot ranges
- :mod:`optlab.optimizers`   SGD, Adagrad, RMSprop, Adam, AdamW, Nadam, Adamax and Lion from scratch, matching Keras step for step
- :mod:`optlab.trajectories` run optimizers on a landscape inside one compiled loop
- :mod:`optlab.theory`       what theory predicts for gradient descent, momentum and RMSprop
- :mod:`optlab.plots`        contours with paths, loss curves, sweeps, LR range tests, animations
- :mod:`optlab.data`         MNIST-1D from data/ (training, validation and test splits), synthetic problems
- :mod:`optlab.training`     seeded training runs, sweeps of many runs at once, the LR range test
- :mod:`optlab.results`      run records, tables, statistics over seeds, the tie and precision rules, choosing a setting
- :mod:`optlab.claims`       the prose's measured claims, checked by the run that measured them
- :mod:`optlab.noise`        per-example gradients and the noise of mini-batch gradients
- :mod:`optlab.checks`       exercise checkers that say where a learner's code differs
- :mod:`optlab.benchmarks`   published test problems (DeepOBS quadratic, Wilson et al.), many runs in one loop
- :mod:`optlab.choosing`     flowcharts that cite their evidence, and a diagnosis of failed runs
- :mod:`optlab.custom`       AdaBelief and its lazy variant, written as chapter 10 teaches
- :mod:`optlab.scale`        data parallelism on one machine, large batches, stacked LAMB
- :mod:`optlab.beyond`       one step of any optimizer on an MLP, schedule-free AdamW's average
- :mod:`optlab.display`      the package's source, tables, and values glued into the prose
- :mod:`optlab.course`       the course's own files: links to a fork, the student edition
"""

__version__ = "0.1.0"
