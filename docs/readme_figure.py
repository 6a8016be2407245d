"""Regenerate ``docs/_static/denoise_photograph.png``, the figure in the README.

The first figure of ``examples/plot_denoise_photograph.py``, saved small (grayscale,
32 levels) so that the repository stays light::

    python docs/readme_figure.py
"""

import pathlib
import runpy

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from PIL import Image

root = pathlib.Path(__file__).parents[1]
target = root / "docs" / "_static" / "denoise_photograph.png"
runpy.run_path(str(root / "examples" / "plot_denoise_photograph.py"))
figure = plt.figure(1)
figure.set_size_inches(8, 5.7)
figure.tight_layout()
figure.savefig(target, dpi=64)
Image.open(target).convert("L").quantize(32).save(target, optimize=True)
print(f"wrote {target} ({target.stat().st_size // 1024} kB)")
