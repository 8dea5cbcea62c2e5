"""The garbage collector tuned for the processor's allocation-heavy batches (issue 18).

A batch of 500 events allocates tens of thousands of short-lived containers (decoded payloads,
mapped rows, spans); with Python's default gen0 threshold (700) they trigger a collection every
20 or so events, and the survivors push gen1 and full collections, which rescan everything the
process keeps for its lifetime (modules, settings, pools). Freezing what exists once start-up is
done takes those objects out of every later pass; a gen0 threshold above what two batches hold
lets most batches come and go without a collection. Both are process-wide: they are set for the
service's running time and put back after.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from processor.settings import CollectorSettings


@contextmanager
def tuned_collector(settings: CollectorSettings) -> Iterator[None]:
    """Freeze the start-up heap and apply the gen0 threshold until the block exits."""
    previous = gc.get_threshold()
    if settings.gen0_threshold:
        gc.set_threshold(settings.gen0_threshold, *previous[1:])
    # Collect first, so only live objects are frozen and start-up's garbage is freed.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        # Frozen objects are never collected; giving them back keeps a process that starts the
        # app more than once (tests) from accumulating them.
        gc.unfreeze()
        gc.set_threshold(*previous)
