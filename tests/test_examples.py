"""Every example script and the demo run to completion."""

import pathlib
import runpy
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, capsys):
    pytest.importorskip("pandas")
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out  # each example prints its results


def test_examples_exist():
    assert len(EXAMPLES) >= 3


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
