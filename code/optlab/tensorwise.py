r"""Keras's tensor-wise optimizers for a stacked model: every norm, mean and orthogonalisation per copy.

Muon, Adafactor and LAMB take norms or factor statistics over a whole tensor,
so :mod:`optlab.stacking` refuses to stack them: one tensor of a stacked model
(:func:`optlab.models.stacked_mlp`) holds every copy, and the copies would
change each other's steps. The classes here are Keras's optimizers with those
reductions taken over each copy's slice instead (the first axis of every
variable indexes the copies), and one learning rate per copy, so the copies
never interact. :func:`optlab.training.stacked_sweep` trains many rates and
seeds of one of them at once (``tests/test_tensorwise.py`` checks every copy
against the Keras optimizer run on its own).

They subclass Keras's own optimizers and read their slots through
:mod:`optlab._keras_internals`, which names the Keras version it was checked
against.
"""

from __future__ import annotations

import keras
from keras import ops

from . import _keras_internals, _validation

__all__ = ["StackedMuon", "StackedAdafactor", "StackedScheduleFreeAdamW", "StackedLamb"]


class _PerCopyRates:
    """One learning rate per stacked copy: the first axis of every variable indexes the copies.

    The optimizer is built with ``learning_rate=1.0`` and hands every
    ``update_step`` the tensor of the copies' rates, shaped to broadcast over
    each copy's slice. Decoupled weight decay would use the rate 1.0, so a
    nonzero ``weight_decay`` is refused.
    """

    def __init__(self, rates, **kwargs):
        rates = _validation.per_copy_rates(rates)
        super().__init__(learning_rate=1.0, **kwargs)
        for name in ("weight_decay", "adam_weight_decay"):
            if getattr(self, name, None):
                raise ValueError(
                    f"{type(self).__name__} takes no {name}: Keras applies it with the optimizer's "
                    f"single learning rate, not each copy's. Pass {name}=0."
                )
        self.rates = rates

    def build(self, variables):
        for variable in variables:
            if len(variable.shape) < 2 or variable.shape[0] != len(self.rates):
                raise ValueError(
                    f"variable {variable.name} of shape {tuple(variable.shape)} should hold "
                    f"{len(self.rates)} copies on its first axis (one per rate), as "
                    f"optlab.models.stacked_mlp makes them."
                )
        super().build(variables)

    def update_step(self, gradient, variable, learning_rate):
        rates = ops.reshape(ops.convert_to_tensor(self.rates, variable.dtype), (-1,) + (1,) * (len(variable.shape) - 1))
        return super().update_step(gradient, variable, rates)


class StackedMuon(_PerCopyRates, keras.optimizers.Muon):
    r"""Keras's ``Muon`` for a stacked model: copy c has rate ``rates[c]``.

    A stacked kernel has shape (copies, n, m) and gets Muon's rule per copy:
    Keras's Newton–Schulz iteration already works on the last two axes (its
    norm is taken over them), and the step is scaled by
    :math:`0.2\sqrt{\max(n, m)}` of each copy's matrix. A stacked bias has
    shape (copies, 1, units) and gets the AdamW step, as the 1-D bias of a
    single model does. (A genuine one-row matrix would be taken for a bias;
    the MLPs of the course have none.)
    """

    def _should_use_adamw(self, variable):
        return not (len(variable.shape) == 3 and variable.shape[1] > 1)

    def lr_adjust(self, x):
        if self.rms_rate is None:
            return x
        return x * ops.sqrt(ops.maximum(x.shape[-2], x.shape[-1])) * self.rms_rate


class StackedAdafactor(_PerCopyRates, keras.optimizers.Adafactor):
    r"""Keras's ``Adafactor`` for a stacked model: copy c has rate ``rates[c]``.

    Keras's Adafactor already factors the *last two* axes of a variable, so a
    stacked kernel (copies, n, m) keeps row and column statistics per copy;
    what it does not do per copy is the root mean square (of the weights, for
    the relative step, and of the update, for the clipping), which this takes
    over each copy's slice. A stacked bias (copies, 1, units) is factored as a
    one-row matrix, whose rebuilt :math:`v` is exactly the plain moving
    average Keras keeps for a 1-D bias.
    """

    def _rms(self, x):
        return ops.sqrt(ops.mean(ops.square(x), axis=tuple(range(1, len(x.shape))), keepdims=True))


if hasattr(keras.optimizers, "ScheduleFreeAdamW"):

    class StackedScheduleFreeAdamW(_PerCopyRates, keras.optimizers.ScheduleFreeAdamW):
        """Keras's ``ScheduleFreeAdamW`` for a stacked model: copy c has rate ``rates[c]``.

        Its update is element-wise, so only the rate needs to be per copy (and
        its warm-up scales each copy's rate alike). :func:`schedule_free_average`
        with ``copy=c`` reads copy c's average.
        """

else:  # Keras before 3.14, such as Colab's 3.13.2 (August 2026): the rest of optlab still imports

    class StackedScheduleFreeAdamW:
        """Stand-in where Keras has no ``ScheduleFreeAdamW`` (it arrived in Keras 3.14): constructing it says so."""

        def __init__(self, *args, **kwargs):
            raise RuntimeError(
                f"StackedScheduleFreeAdamW needs keras.optimizers.ScheduleFreeAdamW, which Keras "
                f"{keras.__version__} does not have (it arrived in Keras 3.14): upgrade Keras, "
                "e.g. `pip install keras==3.15.1`."
            )


class StackedLamb(keras.optimizers.Lamb):
    r"""Keras's ``Lamb`` for a stacked model (:func:`optlab.models.stacked_mlp`): copy c has rate ``rates[c]``.

    Every variable's first axis indexes the copies. Per copy the update is
    Keras's (``keras/src/optimizers/lamb.py``): with Adam's bias-corrected
    moments, :math:`u = \hat m/(\sqrt{\hat v} + \epsilon)`,
    :math:`r = \lVert w\rVert/\lVert u\rVert` (1 if either norm is 0), and
    :math:`w \leftarrow w - \eta_c\, r\, u`, the norms taken over that copy's
    slice of the variable only, so the copies never interact. (``training.sweep``
    refuses LAMB because a plain ``Lamb`` would take the norm over all copies.)
    """

    def __init__(self, rates, **kwargs):
        rates = _validation.per_copy_rates(rates)
        super().__init__(learning_rate=1.0, **kwargs)
        self.rates = rates

    def build(self, variables):
        for variable in variables:
            if not len(variable.shape) or variable.shape[0] != len(self.rates):
                raise ValueError(
                    f"variable {variable.name} of shape {tuple(variable.shape)} should hold "
                    f"{len(self.rates)} copies on its first axis (one per rate)."
                )
        super().build(variables)

    def update_step(self, gradient, variable, learning_rate):
        gradient = ops.cast(gradient, variable.dtype)
        local_step = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), local_step)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), local_step)
        index = self._get_variable_index(variable)
        m = _keras_internals.slots(self, "momentums")[index]
        v = _keras_internals.slots(self, "velocities")[index]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        update = ops.divide(
            ops.divide(m, 1.0 - beta_1_power), ops.add(ops.sqrt(ops.divide(v, 1.0 - beta_2_power)), self.epsilon)
        )
        axes = tuple(range(1, len(variable.shape)))
        w_norm = ops.sqrt(ops.sum(ops.square(variable), axis=axes, keepdims=True))
        u_norm = ops.sqrt(ops.sum(ops.square(update), axis=axes, keepdims=True))
        ratio = ops.where(ops.greater(w_norm, 0), ops.where(ops.greater(u_norm, 0), w_norm / u_norm, 1.0), 1.0)
        rates = ops.reshape(ops.convert_to_tensor(self.rates, variable.dtype), (-1,) + (1,) * len(axes))
        self.assign_sub(variable, ratio * rates * update)
