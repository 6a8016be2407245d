"""sklearn-svd: SVD-based dimensionality reduction and denoising for scikit-learn."""

from ._denoiser import SVDDenoiser
from ._engine import ConditioningWarning
from ._impute import SVDImputer
from ._plot import ScreeDisplay
from ._reducer import SVDReducer

__version__ = "0.1.0"

__all__ = [
    "ConditioningWarning",
    "SVDDenoiser",
    "SVDImputer",
    "SVDReducer",
    "ScreeDisplay",
    "__version__",
]
