"""One supernet training step under the sandwich rule (Yu et al., BigNAS / slimmable networks).

Each step trains, on the same batch, the largest sub-network, the smallest one and ``n``
random ones, accumulates their gradients and applies them once: the largest and smallest
bound the space, so every sub-network in between improves with them. With in-place
distillation the largest network's (stopped-gradient) soft predictions are an extra
target for every other sub-network: ``loss = CE + kd_ratio * KL(teacher || student)``.

The K sub-networks of a step run in one ``tf.while_loop`` inside one traced function
(:class:`~mcunet_tf.training.masked.MaskedSupernet` makes the choices tensors), so a step
costs one function call and the graph is traced once. The step is a replica function:
under a ``tf.distribute`` strategy the loss is averaged over the global batch and the
optimizer all-reduces the accumulated gradients.
"""

from __future__ import annotations


import dataclasses
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from mcunet_tf.arch import ArchConfig
from mcunet_tf.supernet import Supernet
from mcunet_tf.training.masked import Encoding, MaskedSupernet
from mcunet_tf.training.shrinking import SubnetSampler

__all__ = ["SandwichOptions", "SandwichStep", "sandwich_configs"]


@dataclasses.dataclass(frozen=True)
class SandwichOptions:
    #: random sub-networks per step, besides the largest and the smallest
    num_random: int = 2
    #: include the smallest sub-network (the sandwich rule); off, only largest + random
    smallest: bool = True
    distill: bool = False
    kd_ratio: float = 1.0
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.num_random < 0 or self.kd_ratio < 0 or self.temperature <= 0:
            raise ValueError("sandwich: num_random and kd_ratio must be >= 0 and temperature > 0.")


def sandwich_configs(sampler: SubnetSampler, rng: np.random.Generator, options: SandwichOptions) -> list[ArchConfig]:
    """The sub-networks of one step: largest first (the teacher), then smallest, then random ones."""
    configs = [sampler.largest()]
    if options.smallest:
        configs.append(sampler.smallest())
    configs.extend(sampler.sample(rng) for _ in range(options.num_random))
    return configs


class SandwichStep:
    """``step(images, labels, configs)`` -> {"loss", "largest_accuracy"}; variables live in ``supernet``.

    ``loss`` is the mean over the step's sub-networks; ``largest_accuracy`` is the training
    accuracy of the largest one on the batch (before the update).
    """

    def __init__(
        self,
        supernet: Supernet,
        optimizer: keras.optimizers.Optimizer,
        global_batch_size: int,
        options: SandwichOptions = SandwichOptions(),
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        self.masked = MaskedSupernet(supernet)
        self.optimizer = optimizer
        self.global_batch_size = int(global_batch_size)
        self.options = options
        self.strategy = strategy or tf.distribute.get_strategy()
        self.variables = list(supernet.trainable_variables)
        self.num_classes = supernet.space.num_classes
        self._step = tf.function(self._distributed_step)

    def __call__(self, images, labels, configs: Sequence[ArchConfig]) -> dict[str, float]:
        encoding = _stack([self.masked.encode(config) for config in configs])
        loss, accuracy = self._step(images, labels, encoding)
        return {"loss": float(loss) / len(configs), "largest_accuracy": float(accuracy)}

    def _distributed_step(self, images, labels, encoding):
        loss, correct = self.strategy.run(self._replica_step, args=(images, labels, encoding))
        reduce = tf.distribute.ReduceOp.SUM
        return self.strategy.reduce(reduce, loss, axis=None), self.strategy.reduce(reduce, correct, axis=None)

    def _replica_step(self, images, labels, encoding):
        count = tf.shape(encoding["active"])[0]
        batch = tf.shape(images)[0]
        grads = [tf.zeros_like(v) for v in self.variables]
        teacher = tf.zeros([batch, self.num_classes])

        def body(k, grads, teacher, loss_sum, correct):
            choice = {name: value[k] for name, value in encoding.items()}
            with tf.GradientTape() as tape:
                logits = self.masked(choice, images, True)
                per_example = self._per_example_loss(k, labels, logits, teacher)
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch_size)
            step_grads = tape.gradient(loss, self.variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            grads = [a + b for a, b in zip(grads, step_grads)]
            soft = tf.nn.softmax(tf.stop_gradient(logits) / self.options.temperature)
            teacher = tf.cond(tf.equal(k, 0), lambda: soft, lambda: teacher)
            hits = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.float32))
            correct = correct + tf.where(tf.equal(k, 0), hits, 0.0)
            return k + 1, grads, teacher, loss_sum + loss, correct

        _, grads, _, loss_sum, correct = tf.while_loop(
            lambda k, *_: k < count,
            body,
            [tf.constant(0), grads, teacher, tf.constant(0.0), tf.constant(0.0)],
            parallel_iterations=1,
        )
        self.optimizer.apply_gradients(zip(grads, self.variables))
        return loss_sum, correct / float(self.global_batch_size)

    def _per_example_loss(self, k, labels, logits, teacher):
        ce = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        if not self.options.distill:
            return ce
        student = tf.nn.log_softmax(logits / self.options.temperature)
        kd = tf.reduce_sum(teacher * (tf.math.log(teacher + 1e-8) - student), axis=-1)
        weight = tf.where(tf.equal(k, 0), 0.0, self.options.kd_ratio)  # the largest is the teacher
        return ce + weight * kd


def _stack(encodings: Sequence[Encoding]) -> dict[str, tf.Tensor]:
    names = [f.name for f in dataclasses.fields(Encoding)]
    return {name: tf.constant(np.stack([getattr(e, name) for e in encodings])) for name in names}
