"""optlab: the shared code of the course "Optimizers, Hands-On".

Modules, from the bottom layer up (see code/README.md for the map; the layers
are a contract that `make lint` checks with import-linter):

NumPy only (no TensorFlow):
- :mod:`optlab.landscapes`   2-D test functions with their minima, start points and plot ranges
- :mod:`optlab.theory`       what theory predicts for gradient descent, momentum and RMSprop
- :mod:`optlab.results`      run records, tables, statistics over seeds, the tie and precision rules, choosing a setting
- :mod:`optlab.claims`       the prose's measured claims, checked by the run that measured them
- :mod:`optlab.plots`        contours with paths, loss curves, sweeps, LR range tests, large batches, animations
- :mod:`optlab.diagrams`     flowcharts that cite their evidence, the picture of data parallelism
- :mod:`optlab.diagnosis`    a diagnosis of a failed run from its history
- :mod:`optlab.display`      the package's source, tables, and values glued into the prose
- :mod:`optlab.explorers`    interactive explorers: sliders move an optimizer's path, computed in the browser

Rules, models and problems (Keras):
- :mod:`optlab.optimizers`   SGD, Adagrad, RMSprop, Adam, AdamW, Nadam, Adamax and Lion from scratch, matching Keras
- :mod:`optlab.adabelief`    AdaBelief and its lazy variant, an optimizer Keras does not ship
- :mod:`optlab.full_matrix`  full-matrix Adagrad (a d × d matrix per variable, O(d²) memory), refusing large variables
- :mod:`optlab.radam`        RAdam (Liu et al., 2020), an optimizer Keras 3 does not ship, and its rectification
- :mod:`optlab.shampoo`      Shampoo and SOAP (and stacked copies), optimizers Keras does not ship, checked against the authors' code
- :mod:`optlab.tensorwise`   Keras's Muon, Adafactor, LAMB and schedule-free AdamW for stacked copies
- :mod:`optlab.schedule_free` schedule-free AdamW's average, and the method in NumPy
- :mod:`optlab.models`       MLPs, one or many stacked copies, seeded weights and mini-batches
- :mod:`optlab.data`         MNIST-1D from data/ (training, validation and test splits), synthetic problems
- :mod:`optlab.noise`        per-example gradients and the noise of mini-batch gradients
- :mod:`optlab.benchmarks`   published test problems (DeepOBS quadratic, Wilson et al.), many runs in one loop

The engine:
- :mod:`optlab.stacking`     many runs as stacked copies, per-copy hyperparameters, the one traced loop

Experiments:
- :mod:`optlab.trajectories` optimizers on a landscape, many runs in one compiled loop
- :mod:`optlab.training`     seeded training runs, sweeps of many runs at once
- :mod:`optlab.schedules`    learning-rate schedules (warm-up and cosine, warm-up–stable–decay, linear decay, linear scaling) and their rates
- :mod:`optlab.sanity`       sanity checks: initial loss, one-batch overfitting, update-to-weight ratios
- :mod:`optlab.sharpness`    the sharpness (top Hessian eigenvalue) by power iteration, and full-batch descent that records it
- :mod:`optlab.range_test`   the learning-rate range test
- :mod:`optlab.large_batch`  the best rate at several batch sizes, against the linear scaling rule
- :mod:`optlab.distributed`  data parallelism on one machine, compared with one device
- :mod:`optlab.checks`       exercise checkers that say where a learner's code differs
"""

__version__ = "1.0.0"
