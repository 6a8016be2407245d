"""Sphinx configuration.

Build with ``pip install sphinx numpydoc && sphinx-build docs docs/_build``.
"""

project = "sklearn-svd"
copyright = "sklearn-svd developers, BSD-3-Clause"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc"]
autosummary_generate = True
numpydoc_show_class_members = False
html_theme = "alabaster"
