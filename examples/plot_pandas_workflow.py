"""
Keeping column names with set_output
====================================

With ``set_output(transform="pandas")`` the reducer returns a DataFrame with columns
``svdreducer0, ...`` and the denoiser returns a DataFrame with the input's own column
names and index, so denoised data can go straight back into a pandas workflow.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sklearn_svd import SVDDenoiser, SVDReducer

rng = np.random.default_rng(0)
factors = rng.standard_normal((200, 2))
loadings = rng.standard_normal((2, 6))
frame = pd.DataFrame(
    factors @ loadings + rng.standard_normal((200, 6)) + 20,
    columns=["height", "weight", "age", "income", "rent", "commute"],
    index=pd.RangeIndex(1000, 1200, name="person"),
)

# %%
# Scores as a DataFrame, one column per component, the same index.
reducer = SVDReducer(n_components=2).set_output(transform="pandas")
scores = reducer.fit_transform(frame)
print(scores.head())
print("explained variance ratio:", reducer.explained_variance_ratio_.round(3))

# %%
# Denoised data keeps the column names and the index.
denoiser = SVDDenoiser(n_components=2).set_output(transform="pandas")
smooth = denoiser.fit_transform(frame)
print(smooth.head())
assert list(smooth.columns) == list(frame.columns)
assert smooth.index.equals(frame.index)

# %%
# The loadings as a labelled table.
loadings_table = pd.DataFrame(
    reducer.components_, index=reducer.get_feature_names_out(), columns=frame.columns
)
print(loadings_table.round(2))

# %%
# pandas plots the result directly: one column, raw and denoised, for the first 60
# people (the index labels the axis).
ax = (
    frame["income"]
    .iloc[:60]
    .plot(color="0.6", marker=".", label="raw", figsize=(7, 3.5), title="income")
)
smooth["income"].iloc[:60].plot(ax=ax, color="C0", label="denoised (rank 2)")
ax.legend()
plt.show()
