"""The examples and the demo.

The examples are executed by the documentation build (sphinx-gallery, in ``.ci/run``),
which fails on an example that raises; the test suite does not run them again, so
CI pays for each once. Here: the gallery is configured to execute every file in
``examples/``, each has the title the gallery needs, and, with
``SKLEARN_SVD_RUN_EXAMPLES=1`` (for a machine without the docs tools), each runs.
"""

import os
import pathlib
import re
import runpy
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
RUN_EXAMPLES = os.environ.get("SKLEARN_SVD_RUN_EXAMPLES") == "1"


def test_examples_exist():
    assert len(EXAMPLES) >= 8


def test_docs_build_executes_every_example():
    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    gallery = conf["sphinx_gallery_conf"]
    assert (ROOT / "docs" / gallery["examples_dirs"]).resolve() == ROOT / "examples"
    assert gallery.get("plot_gallery", True) not in (False, "False", 0)
    for path in EXAMPLES:
        assert re.search(gallery["filename_pattern"], str(path)), path.name
        assert not re.search(gallery["ignore_pattern"], path.name), path.name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_has_a_gallery_title(path):
    # sphinx-gallery takes the title from the module docstring: a line underlined by
    # "=" of the same length
    lines = path.read_text().split('"""')[1].strip().splitlines()
    assert len(lines) >= 2 and set(lines[1]) == {"="} and len(lines[1]) == len(lines[0])


@pytest.mark.skipif(
    not RUN_EXAMPLES,
    reason="the docs build runs the examples (.ci/run); SKLEARN_SVD_RUN_EXAMPLES=1 "
    "runs them here",
)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, capsys):
    pytest.importorskip("pandas")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
    assert capsys.readouterr().out  # each example prints its results


def test_demo_runs():
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_svd"], capture_output=True, text=True, check=True
    )
    lines = result.stdout.splitlines()
    assert lines[1].split()[:2] == ["solver", "rank"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == {"auto", "covariance_eigh", "full"}
    for row in rows.values():
        sigma, before, after = float(row[3]), float(row[4]), float(row[5])
        assert abs(sigma - 4.0) < 0.2  # the noise level is found
        assert after < 0.6 * before  # denoising removes most of the noise
