"""Sphinx configuration: pydata theme, numpydoc, autosummary and an executed gallery.

Build (what ``.ci/run`` runs; warnings are errors)::

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

``-D plot_gallery=0`` skips running the examples (a quick build of the prose and the
API pages). The build needs no network: there is no intersphinx, and references to
other projects' objects are written out in full and left unlinked (see
``nitpick_ignore_regex``).
"""

import re

import sklearn_svd

project = "sklearn-svd"
copyright = "sklearn-svd developers, BSD-3-Clause"
version = release = sklearn_svd.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"  # `x` is code, as in the docstrings' double backquotes

# -- API pages ---------------------------------------------------------------------
autosummary_generate = True
# Types are documented by numpydoc in each docstring; hints in the signatures would
# repeat them (and point at other projects' classes, unlinkable offline).
autodoc_typehints = "none"
# Members inherited from _BaseSVD (fit, score, ...) and the feature-name mixins are
# documented; scikit-learn's TransformerMixin and BaseEstimator methods (get_params,
# set_params, set_output, get_metadata_routing) are not: their docstrings link to
# scikit-learn's own user guide, and api.rst names them instead. Nor are Python's
# exception methods on the warning class.
# The metadata-request setters scikit-learn generates for each method that takes
# sample_weight (set_fit_request, ...) are set on each class, so not inherited: they
# are excluded by name (their docstrings, too, link to scikit-learn's user guide; the
# Sample weights page shows their use).
autodoc_default_options = {
    "members": True,
    "inherited-members": (
        "TransformerMixin,_SetOutputMixin,BaseEstimator,_MetadataRequester,BaseException"
    ),
    "exclude-members": "set_fit_request,set_partial_fit_request,set_score_request",
}
numpydoc_show_class_members = False  # the class template lists the members
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# numpydoc validation: a docstring that breaks one of these fails the build (with
# -W). The codes are numpydoc's (https://numpydoc.readthedocs.io/en/latest/validation.html).
numpydoc_validation_checks = {
    "all",
    # Not required of every docstring in this package: an extended summary, a See
    # Also section, an Examples section on every method, a Returns/Yields description
    # for self-evident returns, a description for every parameter of a method whose
    # class documents it.
    "ES01",
    "SA01",
    "EX01",
    "RT03",
    "PR07",
    # scikit-learn's style names the returned value ("self : object").
    "RT02",
}
# "See Also" descriptions start with a capital, except where they start with the
# lower-case name "scikit-learn".
numpydoc_validation_overrides = {"SA03": [r"\bscikit-learn's\b"]}
# Inherited from scikit-learn's feature-name mixins: their docstrings, not ours.
numpydoc_validation_exclude = {r"\.get_feature_names_out$"}


def _escape_shape_names(app, what, name, obj, options, lines):
    """Escape trailing underscores in ``of shape (n_components_,)``.

    The docstrings name fitted attributes in their shapes; in reST a word ending in an
    underscore is a link to a target of that name (which does not exist). Runs before
    numpydoc (priority 400), on the shapes only.
    """
    shape = re.compile(r"shape \(([^)]*)\)")

    def escape(match):
        return "shape (" + re.sub(r"(\w)_(?=\W|$)", r"\1\\_", match.group(1)) + ")"

    lines[:] = [shape.sub(escape, line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _escape_shape_names, priority=400)


# -- Cross-references --------------------------------------------------------------
# A broken reference to one of our own objects fails the build. References to other
# projects (numpy, scipy, scikit-learn, matplotlib, pandas) stay unlinked: the build
# runs offline, without intersphinx inventories. The private modules and functions that
# docstrings cite for their formulas (sklearn_svd._rank.noise_mp, sklearn_svd._shrink)
# are not part of the API pages; the user guide gives those formulas.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|scipy|sklearn|matplotlib|pandas|polars)(\..*)?"),
    (r"py:.*", r"sklearn_svd\._\w+(\..*)?"),
]

# -- HTML --------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-svd {version}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": []}
html_show_sourcelink = True

# -- Figures in the user guide (``.. plot::``) ---------------------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.figsize": (6.4, 3.6), "figure.autolayout": True}

# -- Gallery -----------------------------------------------------------------------
# Every file in examples/ is executed by this build (and not by the test suite): a
# failing example fails the build. tests/test_examples.py checks that this pattern
# still covers every example.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("sklearn_svd",),
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "min_reported_time": 1,
}
