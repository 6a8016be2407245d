"""
Choosing the rank with a Pipeline and GridSearchCV
==================================================

``SVDReducer`` is a drop-in for ``PCA`` inside a ``Pipeline``: here the number of
components feeding a classifier is chosen by cross-validation, on a pandas DataFrame.
"""

# %%
# The digits as a DataFrame with named pixel columns.
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_svd import SVDReducer

digits = load_digits()
X = pd.DataFrame(digits.data, columns=[f"pixel_{i}" for i in range(64)])
y = digits.target

# %%
# Search the rank; each fit of the reducer runs the exact solver "auto" picks.
pipe = make_pipeline(StandardScaler(), SVDReducer(), LogisticRegression(max_iter=500))
grid = GridSearchCV(pipe, {"svdreducer__n_components": [5, 10, 20, 40]}, cv=5)
grid.fit(X, y)

results = pd.DataFrame(grid.cv_results_)[
    ["param_svdreducer__n_components", "mean_test_score", "std_test_score"]
]
print(results.to_string(index=False))
print("best rank:", grid.best_params_["svdreducer__n_components"])

# %%
# Accuracy against the rank, with one standard deviation over the folds.
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.errorbar(
    results["param_svdreducer__n_components"].astype(int),
    results["mean_test_score"],
    yerr=results["std_test_score"],
    marker="o",
    capsize=3,
)
ax.set(xlabel="n_components", ylabel="cross-validated accuracy", title="Digits")

# %%
# The fitted reducer names its outputs, so the pipeline's features stay traceable.
reducer = grid.best_estimator_.named_steps["svdreducer"]
print(reducer.get_feature_names_out()[:5], "solver:", reducer.solver_)
plt.show()
