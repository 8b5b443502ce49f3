"""Shared by the Python package's tests (run by .ci/run in a fresh virtual environment with
``pip install '.[test]'``; see docs/python.md)."""

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]


@pytest.fixture(scope="session")
def adult():
    """Adult's training file as a raw frame (the copy the repository ships in data/), rows
    with a missing value dropped: categorical columns as text, as a user's frame has them."""
    with zipfile.ZipFile(REPO / "data" / "adult.zip") as z:
        text = z.read("adult.data").decode()
    frame = pd.read_csv(
        io.StringIO(text), names=ADULT_COLUMNS, skipinitialspace=True, na_values="?"
    ).dropna()
    y = (frame.pop("income") == ">50K").astype(int).to_numpy()
    return frame.drop(columns="fnlwgt").reset_index(drop=True), y
