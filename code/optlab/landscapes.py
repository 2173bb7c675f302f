r"""Two-dimensional test functions ("loss landscapes") for watching optimizers move.

Each :class:`Landscape` is a function :math:`f(x, y)` written with plain
arithmetic, so the same formula evaluates a NumPy grid for a contour plot and a
TensorFlow variable inside ``tf.GradientTape``. It carries its minima, the
value there, a start point that shows the landscape's difficulty, and a plot
range.

>>> bowl = quadratic(condition_number=10)
>>> bowl([0.0, 0.0])
0.0
>>> X, Y, Z = bowl.grid(100)     # one vectorised call for a contour plot
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import _validation


@dataclass(frozen=True)
class Landscape:
    """A 2-D loss surface with what a plot or an experiment needs to know about it.

    Attributes:
        name: short identifier, as accepted by :func:`get`.
        formula: the function in LaTeX, for captions.
        fn: ``fn(x, y)`` using only arithmetic, so it works on floats, NumPy
            arrays and TensorFlow tensors alike.
        minima: the global minimiser(s), one ``(x, y)`` each.
        min_value: :math:`f` at the minima.
        start: a start point that shows what is hard about this landscape.
        x_range, y_range: the plot window.
        curvatures: Hessian eigenvalues where they are constant (quadratics),
            else ``None``.
        local_minima: minimisers that are not global, one ``(x, y)`` each.
        saddle_points: stationary points that are neither minima nor maxima.
    """

    name: str
    formula: str
    fn: Callable = field(repr=False)
    minima: tuple
    min_value: float
    start: tuple
    x_range: tuple
    y_range: tuple
    curvatures: tuple | None = None
    local_minima: tuple = ()
    saddle_points: tuple = ()

    def __call__(self, point):
        """:math:`f` at ``point``: an array (NumPy or TensorFlow) whose last axis holds (x, y).

        A single NumPy/list point gives a Python float; arrays and tensors give
        arrays and tensors of the leading shape.
        """
        from_python = isinstance(point, (list, tuple, np.ndarray))
        if from_python:
            point = np.asarray(point, dtype=np.float64)
        if len(point.shape) == 0 or point.shape[-1] != 2:
            raise ValueError(f"{self.name}: a point must have (x, y) on its last axis; got shape {tuple(point.shape)}.")
        value = self.fn(point[..., 0], point[..., 1])
        return float(value) if from_python and np.ndim(value) == 0 else value

    def grid(self, n: int = 200):
        """``X, Y, Z`` on an ``n`` × ``n`` grid over the plot window, in one vectorised call."""
        xs = np.linspace(*self.x_range, n)
        ys = np.linspace(*self.y_range, n)
        X, Y = np.meshgrid(xs, ys)
        return X, Y, self.fn(X, Y)

    @property
    def minimum(self) -> np.ndarray:
        """The first (or only) minimiser as an array of shape (2,)."""
        return np.asarray(self.minima[0], dtype=np.float64)

    def distance_to_minimum(self, points) -> np.ndarray:
        """Euclidean distance from each point (last axis (x, y)) to the nearest minimiser."""
        points = np.asarray(points, dtype=np.float64)
        gaps = [np.linalg.norm(points - np.asarray(m), axis=-1) for m in self.minima]
        return np.min(gaps, axis=0)


def quadratic(condition_number: float = 10.0) -> Landscape:
    r"""The ill-conditioned bowl :math:`f(x, y) = \frac{1}{2} (x^2 + \kappa y^2)`.

    Its Hessian is diag(1, κ): curvature μ = 1 along x, L = κ across the
    valley, so the condition number L/μ is κ. The minimum is 0 at the origin.
    """
    kappa = _validation.positive_number("condition_number", condition_number)
    if kappa < 1:
        raise ValueError(f"condition_number must be >= 1; got {kappa!r}.")
    return Landscape(
        name="quadratic",
        formula=rf"f(x, y) = \frac{{1}}{{2}}\,(x^2 + {kappa:g}\,y^2)",
        fn=lambda x, y: 0.5 * (x * x + kappa * y * y),
        minima=((0.0, 0.0),),
        min_value=0.0,
        start=(-4.0, 1.0),
        x_range=(-5.0, 5.0),
        y_range=(-1.5, 1.5),
        curvatures=(1.0, kappa),
    )


def rotated_quadratic(condition_number: float = 10.0, angle: float = 45.0) -> Landscape:
    r""":func:`quadratic`'s bowl turned by ``angle`` degrees (anticlockwise) about the origin.

    With :math:`R` the rotation by :math:`\theta` and :math:`(u, v) = R^\top (x, y)`,
    :math:`f(x, y) = \frac{1}{2} (u^2 + \kappa v^2)`: the Hessian is
    :math:`R\,\mathrm{diag}(1, \kappa)\,R^\top`, with the same eigenvalues (``curvatures``)
    as the unturned bowl, along the turned axes. The start is the unturned bowl's
    start turned by :math:`\theta`, so every angle is the same problem in other
    coordinates: at 0° it is :func:`quadratic`. At any angle other than a multiple
    of 90° the Hessian is not diagonal, and a method that rescales x and y alone
    (a diagonal preconditioner) cannot undo it.

    >>> bowl = rotated_quadratic(condition_number=10, angle=90)
    >>> round(bowl([1.0, 0.0]), 12), round(bowl([0.0, 1.0]), 12)   # the axes swapped
    (5.0, 0.5)
    """
    unturned = quadratic(condition_number)
    kappa = unturned.curvatures[1]
    degrees = _validation.in_interval("angle", angle, -360.0, 360.0, closed_high=True)
    theta = np.radians(degrees)
    c, s = float(np.cos(theta)), float(np.sin(theta))

    def f(x, y):
        u, v = c * x + s * y, -s * x + c * y  # (u, v) = Rᵀ(x, y)
        return 0.5 * (u * u + kappa * v * v)

    x0, y0 = unturned.start
    start = (c * x0 - s * y0, s * x0 + c * y0)  # R · start
    reach = 1.25 * float(np.hypot(x0, y0))
    return Landscape(
        name="rotated_quadratic",
        formula=rf"f = \frac{{1}}{{2}}(u^2 + {kappa:g}\,v^2),\ (u, v) = R_{{{degrees:g}^\circ}}^\top (x, y)",
        fn=f,
        minima=((0.0, 0.0),),
        min_value=0.0,
        start=start,
        x_range=(-reach, reach),
        y_range=(-reach, reach),
        curvatures=(1.0, kappa),
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Landscape:
    r"""Rosenbrock's banana valley :math:`f = (a - x)^2 + b\,(y - x^2)^2`.

    The valley floor :math:`y = x^2` is easy to reach and slow to follow; the
    minimum is 0 at :math:`(a, a^2)` (Rosenbrock 1960).
    """
    return Landscape(
        name="rosenbrock",
        formula=rf"f(x, y) = ({a:g} - x)^2 + {b:g}\,(y - x^2)^2",
        fn=lambda x, y: (a - x) ** 2 + b * (y - x * x) ** 2,
        minima=((a, a * a),),
        min_value=0.0,
        start=(-1.5, 2.0),
        x_range=(-2.0, 2.0),
        y_range=(-1.0, 3.0),
    )


def beale() -> Landscape:
    r"""Beale's function, flat plateaus and steep walls, minimum 0 at (3, 0.5).

    :math:`f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`.
    """
    return Landscape(
        name="beale",
        formula=(
            r"f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2"
            r" + (2.625 - x + xy^3)^2"
        ),
        fn=lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y * y * y) ** 2,
        minima=((3.0, 0.5),),
        min_value=0.0,
        start=(1.0, 1.5),
        x_range=(-1.0, 4.0),
        y_range=(-1.5, 2.0),
    )


def saddle() -> Landscape:
    r"""A saddle at the origin between two minima: :math:`f = \frac{1}{2} x^2 - \frac{1}{2} y^2 + \frac{1}{4} y^4`.

    Along x the origin is a minimum, along y a maximum; the minima are
    :math:`(0, \pm 1)` with value −1/4. A start almost on the ridge y = 0 shows
    how long gradient descent lingers near a saddle point.
    """
    return Landscape(
        name="saddle",
        formula=r"f(x, y) = \frac{1}{2} x^2 - \frac{1}{2} y^2 + \frac{1}{4} y^4",
        fn=lambda x, y: 0.5 * x * x - 0.5 * y * y + 0.25 * y**4,
        minima=((0.0, 1.0), (0.0, -1.0)),
        min_value=-0.25,
        start=(-2.0, 0.01),
        x_range=(-2.5, 2.5),
        y_range=(-1.6, 1.6),
        saddle_points=((0.0, 0.0),),
    )


def double_well(tilt: float = 0.5) -> Landscape:
    r"""Two minima, a shallow one and a deep one, behind a low barrier:
    :math:`f(x, y) = (x^2 - 1)^2 + t\,x + y^2`.

    Along :math:`x` this is a double well tilted by :math:`t`, with
    :math:`0 < t < 8/(3\sqrt{3}) \approx 1.54` so that both wells survive; along :math:`y`
    a plain parabola. The stationary points lie on :math:`y = 0` at the three roots of
    :math:`4x^3 - 4x + t = 0`: the deep (global) minimum near :math:`x = -1`, a saddle
    near :math:`x = t/4`, and a shallow local minimum near :math:`x = 1`. The start lies
    above the shallow well, so that gradient descent settles there and never sees
    the deeper one: the setting in which gradient noise is said to help.
    """
    tilt = _validation.positive_number("tilt", tilt)
    limit = 8 / (3 * np.sqrt(3))  # beyond it the shallow well and the saddle merge
    if tilt >= limit:
        raise ValueError(f"tilt must lie in (0, {limit:.4f}) for the landscape to keep two minima; got {tilt!r}.")
    deep, barrier, shallow = _stationary_points_of_tilted_well(tilt)
    f = lambda x, y: (x * x - 1.0) ** 2 + tilt * x + y * y  # noqa: E731
    return Landscape(
        name="double_well",
        formula=rf"f(x, y) = (x^2 - 1)^2 + {tilt:g}\,x + y^2",
        fn=f,
        minima=((deep, 0.0),),
        min_value=float(f(deep, 0.0)),
        start=(1.6, 1.2),
        x_range=(-2.0, 2.0),
        y_range=(-1.5, 1.5),
        local_minima=((shallow, 0.0),),
        saddle_points=((barrier, 0.0),),
    )


def _stationary_points_of_tilted_well(tilt: float):
    """The three real roots of :math:`4x^3 - 4x + t`, sorted, polished by Newton's method."""
    roots = np.sort(np.roots([4.0, 0.0, -4.0, tilt]).real)
    for _ in range(3):  # np.roots is accurate to ~1e-15 relative; make f'(x) exactly ~0
        roots = roots - (4 * roots**3 - 4 * roots + tilt) / (12 * roots**2 - 4)
    return tuple(float(r) for r in roots)


def scaled(landscape, factor: float) -> Landscape:
    r"""The same landscape with its loss multiplied by ``factor`` > 0: :math:`c\,f(x, y)`.

    The minima, start point and plot window stay; the minimum value and the
    curvatures are multiplied by :math:`c`, and so is every gradient. Gradient
    descent feels the change (its step is :math:`\eta c \nabla f`); an optimizer
    that divides by the gradient's size, like Adam, barely does.
    """
    landscape = get(landscape)
    factor = _validation.positive_number("factor", factor)
    fn = landscape.fn
    return Landscape(
        name=f"{factor:g} × {landscape.name}",
        formula=rf"f(x, y) = {factor:g} \times \left[{landscape.formula.split('=', 1)[-1].strip()}\right]",
        fn=lambda x, y: factor * fn(x, y),
        minima=landscape.minima,
        min_value=factor * landscape.min_value,
        start=landscape.start,
        x_range=landscape.x_range,
        y_range=landscape.y_range,
        curvatures=None if landscape.curvatures is None else tuple(factor * c for c in landscape.curvatures),
        local_minima=landscape.local_minima,
        saddle_points=landscape.saddle_points,
    )


def separable_quadratic(curvatures=(1.0, 100.0), center=(2.0, 2.0), l2: float = 0.0, start=(0.0, 0.0)) -> Landscape:
    r"""A bowl centred away from the origin, optionally with an L2 penalty:
    :math:`f = \tfrac12 a (x - p)^2 + \tfrac12 b (y - q)^2 + \tfrac{\lambda}{2}(x^2 + y^2)`.

    ``curvatures`` = (a, b), ``center`` = (p, q), ``l2`` = :math:`\lambda \ge 0`.
    Each coordinate is its own 1-D quadratic, so the minimum is exact:
    :math:`x^* = a p/(a + \lambda)`, :math:`y^* = b q/(b + \lambda)`. The penalty pulls
    the minimum toward the origin, most along the flat direction (small curvature)
    and hardly along the steep one: the L2 regularisation that "weight decay"
    added to the loss means. The plot window holds the origin, the centre and the start.
    """
    values = _validation.curvatures(curvatures)
    if len(values) != 2:
        raise ValueError(f"curvatures must be two numbers (a, b); got {curvatures!r}.")
    a, b = (float(c) for c in values)
    p, q = (float(c) for c in _validation.point_2d("center", center))
    lam = _validation.in_interval("l2", l2, 0.0, np.inf)
    start = tuple(float(c) for c in _validation.point_2d("start", start))
    x_star, y_star = a * p / (a + lam), b * q / (b + lam)
    if np.hypot(start[0] - x_star, start[1] - y_star) == 0:
        raise ValueError(f"start must differ from the minimum ({x_star:g}, {y_star:g}); got {start}.")

    def f(x, y):
        return 0.5 * a * (x - p) ** 2 + 0.5 * b * (y - q) ** 2 + 0.5 * lam * (x * x + y * y)

    def window(*values):
        low, high = min(values), max(values)
        margin = 0.25 * (high - low) + 0.5
        return (low - margin, high + margin)

    penalty = rf" + \frac{{{lam:g}}}{{2}}(x^2 + y^2)" if lam else ""
    return Landscape(
        name="separable_quadratic",
        formula=rf"f(x, y) = \frac{{{a:g}}}{{2}}(x - {p:g})^2 + \frac{{{b:g}}}{{2}}(y - {q:g})^2" + penalty,
        fn=f,
        minima=((x_star, y_star),),
        min_value=float(f(x_star, y_star)),
        start=start,
        x_range=window(0.0, p, start[0], x_star),
        y_range=window(0.0, q, start[1], y_star),
        curvatures=(a + lam, b + lam),
    )


_FACTORIES = {
    "quadratic": quadratic,
    "rosenbrock": rosenbrock,
    "beale": beale,
    "saddle": saddle,
    "double_well": double_well,
}


def names() -> list[str]:
    """The names :func:`get` accepts."""
    return sorted(_FACTORIES)


def get(name: str | Landscape, **parameters) -> Landscape:
    """A landscape by name (``"quadratic"``, ``"rosenbrock"``, ``"beale"``, ``"saddle"``,
    ``"double_well"``).

    Keyword arguments go to the factory, e.g. ``get("quadratic", condition_number=100)``.
    A :class:`Landscape` is returned unchanged.
    """
    if isinstance(name, Landscape):
        if parameters:
            raise TypeError("parameters can only be given with a landscape's name.")
        return name
    key = _validation.choose("landscape", name, _FACTORIES)
    return _FACTORIES[key](**parameters)


def slope(gradient: float = 1.0) -> Landscape:
    r"""An endless downhill slope along x with a valley across it: :math:`f(x, y) = -g\,x + \frac12 y^2`.

    The gradient along x is the constant :math:`-g` everywhere, so there is no
    minimum to reach: what an optimizer does here is what its *step* does when
    the gradient never changes (gradient descent moves :math:`\eta g` per step for
    ever; Adagrad's step shrinks like :math:`1/\sqrt t`; RMSprop's settles). The
    listed minimum lies far away at :math:`(10^9, 0)` so that distances and plots
    stay meaningful; the plot window covers the first 200 units.
    """
    g = _validation.positive_number("gradient", gradient)
    coefficient = "" if g == 1 else rf"{g:g}\,"
    return Landscape(
        name="slope",
        formula=rf"f(x, y) = -{coefficient}x + \frac12 y^2",
        fn=lambda x, y: -g * x + 0.5 * y * y,
        minima=((1e9, 0.0),),
        min_value=-g * 1e9,
        start=(0.0, 0.0),
        x_range=(0.0, 200.0),
        y_range=(-1.0, 1.0),
    )
