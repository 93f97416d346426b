"""Host side: build the generated project with gcc and run it (ctypes), and the numpy reference runner."""
