"""The memo behind the buffer lifetimes: recent layouts and tensor facts, per graph.

The plan passes lay out many variants of one schedule (in place or not, lean or not) and
the NAS cost model runs them for thousands of configs a second, so a graph's recent
layouts (by the identity of their immutable plans) and the lifetimes of the schedule laid
out last are worth keeping: variants share most of them. They live in a
:class:`LayoutCache` object rather than in module globals, so that what a compile
remembers is visible and owned by someone:

- ``compile_graph`` makes a fresh cache for each compile unless the caller passes one,
  so the default compile path keeps nothing from one call to the next;
- the NAS cost model owns one cache for its lifetime and passes it to every compile.

Entries are keyed weakly by graph, so they live exactly as long as their graph: layouts
kept past it would pile up, config after config, for the garbage collector to rescan.

The functions of :mod:`tinyengine_gen.memory.lifetimes` read the cache made active with
:meth:`LayoutCache.active` (a context variable, so threads and nested compiles each see
their own); outside one, each call gets a fresh cache and memoises nothing across calls.
Passing the cache through every pass signature instead would put a memo parameter on
every memory query the passes make.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from tinyengine_gen.ir import Graph

__all__ = ["LayoutCache", "active_cache"]


class LayoutCache:
    """Recent layouts and tensor facts of live graphs (see the module docstring)."""

    #: layouts kept per graph (the plan passes ask for the same few several times over)
    LAYOUTS_PER_GRAPH = 16

    def __init__(self) -> None:
        #: graph -> {(alignment, *plan ids): (plans, layout)}
        self.layouts: weakref.WeakKeyDictionary[Graph, dict[tuple, tuple]] = weakref.WeakKeyDictionary()
        #: graph -> its tensor facts (see ``lifetimes._GraphFacts``)
        self.facts: weakref.WeakKeyDictionary[Graph, Any] = weakref.WeakKeyDictionary()
        #: the facts made last: a graph and its fused rewrite share their tensor tuple, and facts
        self.last_facts: Any = None
        #: graph -> (plans, options key, per-step live-bytes lower bounds) of the schedule asked last
        #: (``tinyengine_gen.memory.bounds``: the patch search and its caller ask for the same)
        self.bounds: weakref.WeakKeyDictionary[Graph, tuple] = weakref.WeakKeyDictionary()
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def active(self) -> Iterator[LayoutCache]:
        """Make this the cache the lifetime functions use inside the ``with`` block."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def forget(self, graph: Graph) -> None:
        """Drop ``graph``'s layouts (its next layout is planned afresh)."""
        with self.lock:
            self.layouts.pop(graph, None)


_ACTIVE: contextvars.ContextVar[LayoutCache | None] = contextvars.ContextVar("tinyengine_gen_layout_cache", default=None)


def active_cache() -> LayoutCache:
    """The cache made active by the caller, or a fresh one that lives for this call only."""
    cache = _ACTIVE.get()
    return cache if cache is not None else LayoutCache()
