"""segdemo/memory.py: the malloc settings that keep a long-running server's memory flat."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from segdemo import memory

linux_glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or memory._malloc_trim is None, reason="glibc's malloc_trim is needed"
)


def test_resident_memory_is_read_from_proc():
    """A 64 MB block, touched, is mapped on its own and given back when freed: resident memory goes up and down by
    about that much. In a fresh process: in the suite's own, after hundreds of tests, the block once came from
    memory the process already held (before, during and after: 1850.7, 1854.7 and 1854.7 MB), and before that
    something else freed 13 MB during the allocation; neither says anything about how resident memory is read."""
    script = (
        "import json, numpy as np; from segdemo import memory\n"
        "before = memory.resident_mb(); block = np.ones(64 * 2**20, dtype=np.uint8); during = memory.resident_mb()\n"
        "del block; print(json.dumps([before, during, memory.resident_mb()]))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    before, during, after = json.loads(result.stdout)
    assert during - before > 48 and during - after > 48, (before, during, after)


@linux_glibc
def test_free_memory_goes_back_only_past_the_headroom(monkeypatch):
    monkeypatch.setattr(memory, "_baseline_mb", None)
    assert memory.release_free_memory(headroom_mb=10_000) is True  # the first call trims and sets the baseline
    assert memory.release_free_memory(headroom_mb=10_000) is False  # under the headroom: nothing to do
    blocks = [np.ones(2**20, dtype=np.uint8) for _ in range(200)]  # 200 MB in small blocks on the heap
    grown = memory.resident_mb()
    assert memory.release_free_memory(headroom_mb=50) is True
    del blocks
    memory.release_free_memory(headroom_mb=0)
    assert memory.resident_mb() < grown - 100  # the freed blocks left the process


def test_the_arena_cap_defers_to_an_explicit_environment(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_malloc_arenas() is False

