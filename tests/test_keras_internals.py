"""The Keras fields optlab reads through optlab._keras_internals still exist and mean what they did."""

import keras
import numpy as np
import pytest

from optlab import _keras_internals


@pytest.mark.parametrize("cls", [keras.optimizers.Lamb, keras.optimizers.ScheduleFreeAdamW, keras.optimizers.Adam])
def test_slots_hold_one_variable_per_weight_in_the_order_of_the_weights(cls):
    weights = [keras.Variable(np.ones((2, 3), np.float32)), keras.Variable(np.ones(4, np.float32))]
    optimizer = cls(learning_rate=0.1)
    optimizer.apply_gradients([(np.full(w.shape, 0.5, np.float32), w) for w in weights])
    assert _keras_internals.trainable_variables(optimizer) == weights
    for name in ("momentums", "velocities"):
        slots = _keras_internals.slots(optimizer, name)
        assert [tuple(s.shape) for s in slots] == [(2, 3), (4,)], (
            f"Keras {keras.__version__} changed {name} (checked against {_keras_internals.KERAS_CHECKED})"
        )
    assert np.any(_keras_internals.slots(optimizer, "momentums")[0].numpy() != 0), "the momentum was not updated"


def test_a_missing_field_names_the_module_to_update_and_a_wrong_name_is_refused():
    with pytest.raises(AttributeError, match="update optlab._keras_internals"):
        _keras_internals.slots(object(), "momentums")
    with pytest.raises(ValueError, match="momentums"):
        _keras_internals.slots(keras.optimizers.Adam(), "moments")


def test_the_step_counter_is_the_variable_that_counts_every_micro_batch():
    variable = keras.Variable(np.zeros(2, np.float32))
    optimizer = keras.optimizers.SGD(0.1, gradient_accumulation_steps=2)
    optimizer.build([variable])
    for _ in range(3):
        optimizer.apply_gradients([(np.ones(2, np.float32), variable)])
    counter = _keras_internals.step_counter(optimizer)
    assert counter.dtype == "int64" and int(counter.numpy()) == 3  # micro-batches
    assert int(optimizer.iterations.numpy()) == 1  # accumulated steps: floor(3 / 2)
    assert any(counter is v for v in optimizer.variables)
    with pytest.raises(AttributeError, match="update optlab._keras_internals"):
        _keras_internals.step_counter(object())
