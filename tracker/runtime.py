"""Process-level tuning shared by the Celery workers and the benchmarks that stand in for them."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


def freeze_start_up_objects() -> int:
    """Take everything alive now (modules, settings, URL and template machinery, the app registry) out of the
    garbage collector's full passes; returns how many objects that is.

    A worker's batches build objects by the hundred thousand (a dispatch cycle of 500 notices: the URLs, their
    assessments, contexts and rendered mails), and each full pass they trigger would otherwise walk all of
    Django again: about a fifth of a dispatch cycle's time. Frozen objects are still freed by reference
    counting; only cycles among them are no longer collected, which start-up objects do not form in numbers.
    Called once per worker process, after start-up (`gc.freeze`)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Run a batch without the cyclic garbage collector, and restore its previous state after.

    A dispatch chunk allocates a few hundred thousand objects that live until it ends (URLs, assessments,
    contexts, mails); each allocation burst triggers collections that walk all of them again and again without
    finding anything to free, a few per cent of the chunk's time. Reference counting still frees everything as
    usual; whatever cycles the batch leaves are collected by the first automatic pass after it. The collector
    is the process's: in a threaded web worker the other threads go without it for the batch too (more memory
    for a moment, never a leak)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
