"""The steps of ``python -m mcunet_tf.pipeline``, one small module each.

* :mod:`~mcunet_tf.pipeline_steps.step`: the ``Step`` protocol and the frozen ``StepResult``
  every step returns (its JSON round trip is what resuming rests on);
* the steps, in order: :mod:`~mcunet_tf.pipeline_steps.space`, :mod:`~mcunet_tf.pipeline_steps.supernet`,
  :mod:`~mcunet_tf.pipeline_steps.search`, :mod:`~mcunet_tf.pipeline_steps.qat`,
  :mod:`~mcunet_tf.pipeline_steps.c_project`, :mod:`~mcunet_tf.pipeline_steps.firmware`,
  :mod:`~mcunet_tf.pipeline_steps.side_by_side`;
* :mod:`~mcunet_tf.pipeline_steps.context`: what the steps of one run share (options, folder,
  earlier results by type, the test data); :mod:`~mcunet_tf.pipeline_steps.data`: the dataset,
  the up-front ``--data_dir`` check, the test split;
* :mod:`~mcunet_tf.pipeline_steps.config`: the task presets and the frozen options of a run;
* :mod:`~mcunet_tf.pipeline_steps.command_line`: the flags, parsed before TensorFlow loads;
* :mod:`~mcunet_tf.pipeline_steps.progress`: one line per step with elapsed time, and the
  per-step ``result.json`` that makes a rerun resume;
* :mod:`~mcunet_tf.pipeline_steps.deploy`: int8 TFLite -> TinyEngine C, the exact
  prediction check on the test split, firmware;
* :mod:`~mcunet_tf.pipeline_steps.report`: ``report.json``, ``report.md`` and the plots.
"""
