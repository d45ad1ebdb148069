"""The perf benchmarks' two sizes: full (`make perf`, ratios asserted) and smoke (`--perf-smoke`, run by
`make test`: tiny sizes in seconds, so no benchmark's code path rots; outputs checked, speed not)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def smoke(pytestconfig) -> bool:
    """True under --perf-smoke."""
    return bool(pytestconfig.getoption("--perf-smoke"))

