"""Build hook: a wheel carries the checkout's shipped data (prompts/, corpora/sample/, suites/) as package data.

The data stays at the top level of the repository, where people and tests find it; building copies it to
bench/_shipped/ inside the wheel, where bench.core.paths.shipped_dir() looks first.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("prompts", "corpora/sample", "suites")


class BuildWithData(build_py):
    """build_py, plus the shipped data folders copied under bench/_shipped/."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        for name in SHIPPED:
            source = Path(name)
            if source.is_dir():
                target = Path(self.build_lib) / "bench" / "_shipped" / name
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))


setup(cmdclass={"build_py": BuildWithData})
