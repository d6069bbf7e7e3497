"""Generators served by Ray Serve: many users' `generate` calls merged into one batch per replica.

`deploy` starts a Ray Serve application that wraps any registered generator (built by name on
each replica; with `num_gpus` > 0 a torch-backed one is built with `device="cuda"`, the GPU Ray
gives that replica); `RemoteGenerator` is the Generator a worker process uses in its place:
`generate` goes to the deployment, while sampling, rendering and metadata stay local (each worker
builds the generator once for these, on its CPU, weights included; only `generate` runs on the
replicas).

Each replica merges concurrent requests with `@serve.batch`, counting latents, not requests
(`batch_size_fn`), up to `max_batch_size` rows per call of the model. A request running on a
replica that dies is lost with it (Ray does not resend it), so `RemoteGenerator` retries: content
is a pure function of the latent, so a retry cannot make anything twice.

>>> deploy("identity", {"latent_dim": 8}, max_batch_size=32)  # doctest: +SKIP
>>> generator = RemoteGenerator("identity", {"latent_dim": 8}, max_batch_size=32)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

import plgl.generators as registry
from plgl import validation as check
from plgl.errors import InvalidInputError
from plgl.generators._base import Generator
from plgl.generators._device import OnDevice, parse_device

APP_NAME = "plgl-generator"
log = logging.getLogger("plgl.generators.remote")


def _ray() -> Any:
    try:
        import ray
        from ray import serve  # noqa: F401 (checks the serve extra is there too)
    except ImportError:
        raise ImportError("the Ray Serve generator needs Ray: pip install 'plgl[ray]'") from None
    return ray


def rows_in(batch: Sequence[Any]) -> int:
    """How many latents a list of `generate` arguments holds (Ray's `batch_size_fn`).

    Never raises: an exception here would stop the replica's batching loop for good, so
    anything that is not a (n, d) array counts as one row (and fails in `generate` instead).
    """
    try:
        return sum(len(a) if isinstance(a, np.ndarray) and a.ndim == 2 else 1 for a in batch)
    except Exception:
        return 1


def replica_options(name: str, options: dict[str, Any] | None, num_gpus: float) -> dict[str, Any]:
    """The options each replica builds the generator `name` with, checked by building it here
    (on the CPU).

    A replica that reserves a GPU (`num_gpus` > 0) builds a torch-backed generator on
    `device="cuda"`: Ray sets CUDA_VISIBLE_DEVICES per replica, so "cuda" is that replica's
    GPU. Options that name a device keep it (its form is checked here; whether the replica's
    machine has it, there).

    >>> replica_options("identity", {"latent_dim": 4}, num_gpus=1)  # no torch model
    {'latent_dim': 4}
    """
    options = dict(options or {})
    here = dict(options)
    if "device" in options:
        parse_device(options["device"])
        here["device"] = "cpu"  # this process need not have the replicas' GPUs
    generator = registry.get(name, **here)  # fails here, clearly, on a bad name or options
    if num_gpus > 0 and isinstance(generator, OnDevice) and "device" not in options:
        options["device"] = "cuda"
    return options


class _Replica:
    """One Ray Serve replica: the generator, built by name, and its batched `generate`."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.generator = registry.get(name, **options)
        self.batches: deque[int] = deque(maxlen=1000)  # rows per model call, for `stats`

    async def generate(self, requests: list[np.ndarray]) -> list[list[Any]]:
        """Content for every request's latents, made in one call of the model."""
        sizes = [len(latents) for latents in requests]
        latents = np.concatenate(requests, axis=0)
        # In a thread: the replica's event loop keeps taking the next batch's requests.
        contents = await asyncio.to_thread(self.generator.generate, latents)
        self.batches.append(len(latents))
        ends = np.cumsum(sizes)
        return [list(contents[end - size : end]) for size, end in zip(sizes, ends, strict=True)]

    def stats(self) -> dict[str, Any]:
        """This replica's process id and the rows per model call of its recent batches."""
        return {"pid": os.getpid(), "batches": list(self.batches)}


def deploy(
    name: str,
    options: dict[str, Any] | None = None,
    *,
    replicas: int = 1,
    num_gpus: float = 0.0,
    num_cpus: float = 1.0,
    max_batch_size: int = 64,
    batch_wait_s: float = 0.005,
    app_name: str = APP_NAME,
) -> None:
    """Run the generator registered as `name` on Ray Serve (starting Ray here if needed).

    Args:
        name, options: the generator, as for `plgl.generators.get(name, **options)`.
        replicas: copies of the model, each its own Ray actor.
        num_gpus, num_cpus: what each replica reserves (num_gpus=1: one GPU each). With
            num_gpus > 0 a torch-backed generator runs on the replica's GPU (`device="cuda"`)
            unless `options` name a device (see `replica_options`).
        max_batch_size: most latents per model call; each replica takes up to twice that many
            requests at once (Ray caps a batch at `max_ongoing_requests`).
        batch_wait_s: how long a batch waits for more requests once it has one.
        app_name: the Serve application's name, which `RemoteGenerator` looks up.
    """
    ray = _ray()
    from ray import serve

    if num_gpus < 0 or num_cpus < 0 or batch_wait_s < 0:
        raise InvalidInputError("num_gpus, num_cpus and batch_wait_s must be >= 0")
    options = replica_options(name, options, num_gpus)
    check.integer("replicas", replicas, minimum=1)
    check.integer("max_batch_size", max_batch_size, minimum=1)
    if not ray.is_initialized():
        ray.init(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    serve.start(proxy_location="Disabled", http_options={"host": "127.0.0.1"})
    batched = serve.batch(
        max_batch_size=max_batch_size, batch_wait_timeout_s=batch_wait_s, batch_size_fn=rows_in
    )
    replica = type("GeneratorReplica", (_Replica,), {"generate": batched(_Replica.generate)})
    deployment = serve.deployment(
        name="generator",
        num_replicas=replicas,
        max_ongoing_requests=2 * max_batch_size,
        ray_actor_options={"num_gpus": num_gpus, "num_cpus": num_cpus},
    )(replica)
    serve.run(
        deployment.bind(name, options),
        name=app_name,
        route_prefix=None,
        blocking=False,
    )


class RemoteGenerator(Generator):
    """The generator registered as `name`, with `generate` served by a `deploy`ed application.

    Args:
        name, options: the same generator the application serves (built here too, for its
            description, rendering and metadata).
        app_name: the Serve application to call.
        address: the Ray cluster ("auto": the one running on this machine).
        max_batch_size: the application's; larger calls are split into pieces this size.
        retries: attempts after a replica fails (dies, restarts, times out).
        timeout_s: how long one attempt may take.
    """

    def __init__(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        app_name: str = APP_NAME,
        address: str | None = "auto",
        max_batch_size: int = 64,
        retries: int = 5,
        timeout_s: float = 60.0,
    ) -> None:
        self.local = registry.get(name, **dict(options or {}))
        for attribute in ("name", "latent_dim", "modality", "reach", "media_types"):
            setattr(self, attribute, getattr(self.local, attribute))
        self.feature_names = self.local.feature_names
        self.max_batch_size = check.integer("max_batch_size", max_batch_size, minimum=1)
        self.retries = check.integer("retries", retries, minimum=0)
        self.timeout_s = timeout_s
        ray = _ray()
        from ray import serve

        if not ray.is_initialized():
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        self._handle = serve.get_app_handle(app_name)

    def generate(self, latents: np.ndarray) -> list[Any]:
        """Content for each row of `latents` (n, latent_dim), made on the Ray Serve replicas."""
        latents = check.latents("latents", latents, self.latent_dim)
        pieces = range(0, len(latents), self.max_batch_size)
        responses = [self._call(latents[i : i + self.max_batch_size]) for i in pieces]
        return [content for response in responses for content in response]

    def _call(self, latents: np.ndarray) -> list[Any]:
        from ray.exceptions import RayError, RayTaskError

        for attempt in range(self.retries + 1):
            try:
                contents: list[Any] = self._handle.generate.remote(latents).result(
                    timeout_s=self.timeout_s
                )
                return contents
            except RayTaskError:
                raise  # the generator itself failed on these latents: a retry fails the same way
            except (RayError, TimeoutError) as error:
                if attempt == self.retries:
                    raise
                log.warning("generator replica failed (%s); retrying", type(error).__name__)
                time.sleep(min(2.0, 0.1 * 2**attempt))
        raise AssertionError("unreachable")

    def stats(self) -> dict[str, Any]:
        """A replica's process id and rows per model call in its recent batches (whichever
        replica answers)."""
        result: dict[str, Any] = self._handle.stats.remote().result(timeout_s=self.timeout_s)
        return result

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.local.sample(n, rng)

    def project(self, latents: np.ndarray) -> np.ndarray:
        return self.local.project(latents)

    def _render(self, content: Any, media_type: str) -> bytes:
        return self.local.render(content, media_type)

    def metadata(self, content: Any) -> dict[str, Any]:
        return self.local.metadata(content)

    def features(self, contents: Sequence[Any]) -> np.ndarray:
        return self.local.features(contents)

    def config(self) -> dict[str, Any]:
        return self.local.config()
