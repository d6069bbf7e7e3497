"""FeaturePreference under scikit-learn's estimator checks (the other models are in
tests/test_models.py)."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from plgl.generators import Generator
from plgl.models import FeaturePreference


class Measured(Generator):
    """Content is the latent itself, of any width; its features are two traits of it.

    The estimator checks fit on data of many widths (1 to 20 columns), while a real generator
    has one latent_dim; this double measures whatever it is given, so the checks exercise
    FeaturePreference's own contract rather than a shape mismatch.
    """

    name = "measured"
    latent_dim = 2
    modality = "vector"
    feature_names = ("first coordinate", "mean coordinate")

    def generate(self, latents: np.ndarray) -> list[Any]:
        return list(np.atleast_2d(np.asarray(latents, dtype=np.float64)))

    def _render(self, content: Any, media_type: str) -> bytes:
        return repr(content).encode()

    def features(self, contents: Sequence[Any]) -> np.ndarray:
        rows = np.asarray(contents, dtype=np.float64).reshape(len(contents), -1)
        return np.column_stack([rows[:, 0], rows.mean(axis=1)])


EXPECTED_FAILURES = {
    # The generator caches its fixed prior sample on first use (`feature_sample`), so the
    # parameter's hash changes during fit although what it generates does not.
    "check_estimators_overwrite_params": "the generator caches its prior sample during fit",
    # Online learning starts from the generator's prior over latent_dim coordinates; the check
    # partial-fits data of another width, which no generator-bound model can accept.
    "check_n_features_in_after_fitting": "online start needs latents of the generator's width",
}


@parametrize_with_checks(
    [FeaturePreference(Measured())], expected_failed_checks=lambda _: EXPECTED_FAILURES
)
def test_sklearn_contract(estimator: FeaturePreference, check: Any) -> None:
    check(estimator)
