"""A population's fitted state as JSON-native data (to persist in storage), and back.

Only released (DP) values and the opted-in users' noisy match vectors are in it, plus the ids of
those users (to exclude them at once on opt-out or deletion); never a raw taste.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.population.fit import Fitted
from plgl.population.matching import MatchIndex
from plgl.population.records import Cluster, PopulationSummary

if TYPE_CHECKING:
    from plgl.population.population import Population

VERSION = 1


def dump(population: Population) -> dict[str, Any]:
    """The fitted state of `population` (JSON-native)."""
    fitted = population.fitted_
    index = population.index_
    return {
        "version": VERSION,
        "refreshes": list(population.accountant.refreshes),
        "match_charges": [list(charge) for charge in population.accountant.matching],
        "summary": None if population.summary_ is None else dataclasses.asdict(population.summary_),
        "fitted": None
        if fitted is None
        else {
            key: value.tolist() if isinstance(value, np.ndarray) else value
            for key, value in dataclasses.asdict(fitted).items()
        },
        "clusters": [
            {"id": c.id, "size": c.size, "direction": c.direction.tolist()}
            for c in population.clusters_
        ],
        "centroids": population.centroids_.tolist(),
        "centroid_noise": population.centroid_noise_,
        "matching": None
        if index is None
        else {"ids": index.ids, "vectors": index.vectors.tolist()},
    }


def load(population: Population, state: dict[str, Any]) -> None:
    """Restore what `dump` returned into `population` (its settings are kept)."""
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise InvalidInputError(f"not a population state of version {VERSION}")
    try:
        fitted = state["fitted"]
        restored = None
        if fitted is not None:
            restored = Fitted(
                mean=_array(fitted["mean"]),
                direction=_array(fitted["direction"]),
                covariance=_array(fitted["covariance"]),
                kind=fitted["kind"],
                rank=int(fitted["rank"]),
                users=float(fitted["users"]),
                subspace=_array(fitted["subspace"]),
                spread=_array(fitted["spread"]),
                variance=float(fitted["variance"]),
                # States saved before the mixture prior lack it (and the centroids).
                norm=float(fitted.get("norm", 0.0)),
            )
        summary = state["summary"]
        if summary is not None:
            summary = PopulationSummary(
                **{**summary, "releases": tuple(tuple(r) for r in summary["releases"])}
            )
        clusters = [
            Cluster(int(c["id"]), int(c["size"]), np.asarray(c["direction"], dtype=float))
            for c in state["clusters"]
        ]
        index = None
        if state["matching"] is not None and restored is not None:
            index = MatchIndex(population.secret, restored.subspace)
            vectors = np.asarray(state["matching"]["vectors"], dtype=float)
            index.extend(list(state["matching"]["ids"]), vectors.reshape(-1, index.rank))
        centroids = _array(state.get("centroids", []))
        if restored is None or restored.norm == 0.0 or centroids.ndim != 2:
            centroids = np.zeros((0, 0))
        elif centroids.shape != (len(clusters), restored.subspace.shape[1]):
            raise ValueError(f"centroids of shape {centroids.shape} do not match the clusters")
        noise = float(state.get("centroid_noise", 0.0))
        refreshes = [float(r) for r in state["refreshes"]]
        charges = [(float(e), float(d)) for e, d in state.get("match_charges", [])]
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInputError(f"population state is malformed: {error}") from error
    population.fitted_, population.summary_, population.clusters_ = restored, summary, clusters
    population.index_ = index
    population.centroids_, population.centroid_noise_ = centroids, noise
    population.accountant.refreshes = refreshes
    population.accountant.matching = charges


def _array(value: Any) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError("arrays must be finite")
    return array
