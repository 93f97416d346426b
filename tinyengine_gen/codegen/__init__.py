"""Code generation: the C project (model.c, model.h, kernels), its C literals, report.json, the folder writer."""
