"""Exact rewrites: graph passes before op planning, plan passes (fusion, in-place, lean scratch) after."""
