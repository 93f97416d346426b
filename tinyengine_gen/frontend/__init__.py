"""Frontend: the .tflite flatbuffer, verified and read into the IR (:mod:`tinyengine_gen.ir`)."""
