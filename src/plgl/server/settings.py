"""Service settings: from arguments, then `PLGL_*` environment variables, then defaults.

>>> settings = Settings.from_env({"PLGL_PORT": "9000"}, host="0.0.0.0")
>>> settings.host, settings.port, settings.storage_url()
('0.0.0.0', 9000, 'sqlite:///plgl-data/plgl.db')
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plgl.errors import InvalidInputError
from plgl.grounding import MODES

_ENV_PREFIX = "PLGL_"
_SECRET_FILE = "secret"


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from outside.

    Attributes:
        host, port: where `plgl serve` listens.
        domain: generator name; None picks "faces" when installed, else "identity".
        storage: storage URL; None is a SQLite file in `data_dir`.
        cache: content cache URL (memory://, sqlite:///path, redis://...); None keeps it in memory.
        data_dir: where the database and the token secret live.
        secret: key that signs user tokens; None reads (or creates) `data_dir/secret`, mode 0600.
        seed: the engine's seed (reproducible feeds).
        threads: threads per numerical call (BLAS, torch). The server runs requests in
            parallel; more threads per call on top of that oversubscribe the cores.
        heavy_threads: requests that make new items (feed, cards, pair, recommendations,
            reverse) each worker runs at once; the others wait their turn, holding no thread,
            so that light requests (ratings, content) are not starved of the interpreter
            (`plgl.server.lanes`). Raise it with fewer workers than cores, or with the "ray"
            generator (a heavy request then mostly waits on the replicas).
        max_body_bytes: larger request bodies are refused with 413.
        feedback_rate, feedback_burst: each user's token bucket for ratings (events per second,
            and how many may come at once).
        generation_rate, generation_burst: each user's token bucket for calls that make new
            items (feed, recommendations, reverse).
        signups_per_minute: new users one client address may create per minute.
        max_unrated_items: shown-but-unrated items a user may hold; to make room for new ones
            (feed, recommendations, reverse) the oldest of them expire.
        keep_alive_seconds: an idle keep-alive connection is closed after this long: longer
            than a person takes per card, since a request sent as the server closes the
            connection fails (at 5 s, swipers pausing 2-6 s between cards hit that).
        read_timeout: seconds a client has to send a whole request (headers and body) once it
            starts one or opens the connection; slower connections are dropped.
        max_header_bytes: request heads larger than this are refused (400 while still
            arriving, 431 when whole).
        perceptual_maps: content-judge rows each worker keeps for all its users (faces: 3 KB
            each, molecules: 8 KB); one left out costs a decode to compute again.
        max_sessions, idle_seconds: each worker keeps at most this many users' sessions in
            memory, each for at most this long after its last request (the rest are loaded
            from storage when they come back), so its memory is bounded whatever the users.
        workers: API worker processes (`plgl serve`); each is stateless over the one storage.
        generator: "local" runs the generator in each worker; "ray" serves it from a Ray Serve
            deployment (see `plgl.generators.remote`) with `ray_replicas` replicas of
            `ray_num_gpus` GPUs each, batching up to `ray_max_batch` latents.
        pair_cards: whether the swipe feed (/api/cards) mixes in "which of two" cards where a
            comparison teaches more than a swipe, and choice cards (the user's champion and
            challengers made near it, `plgl.duels`); False: like/dislike cards only.
        for_you: what For-you shows, and whether the feed holds choice cards: "top", "grounded"
            or "judged" (`plgl.grounding`; the grounded modes climb from the user's champion
            with choice cards); None: the domain's default (identity: "top").
    """

    host: str = "127.0.0.1"
    port: int = 8000
    domain: str | None = None
    storage: str | None = None
    cache: str | None = None
    data_dir: Path = field(default_factory=lambda: Path("plgl-data"))
    secret: str | None = None
    seed: int = 0
    threads: int = 1
    heavy_threads: int = 1
    max_body_bytes: int = 16 * 1024
    feedback_rate: float = 10.0
    feedback_burst: int = 30
    generation_rate: float = 2.0
    generation_burst: int = 20
    signups_per_minute: int = 30
    max_unrated_items: int = 200
    keep_alive_seconds: int = 30
    read_timeout: float = 10.0
    max_header_bytes: int = 16 * 1024
    max_sessions: int = 1000
    perceptual_maps: int = 16384
    idle_seconds: float = 600.0
    workers: int = 1
    generator: str = "local"
    ray_replicas: int = 1
    ray_num_gpus: float = 0.0
    ray_max_batch: int = 64
    pair_cards: bool = True
    for_you: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if not 1 <= self.port <= 65535:
            raise InvalidInputError(f"port must be in 1..65535, got {self.port}")
        if self.seed < 0:
            raise InvalidInputError(f"seed must be >= 0, got {self.seed}")
        if self.threads < 1:
            raise InvalidInputError(f"threads must be >= 1, got {self.threads}")
        if self.heavy_threads < 1:
            raise InvalidInputError(f"heavy_threads must be >= 1, got {self.heavy_threads}")
        if self.max_body_bytes < 1024:
            raise InvalidInputError(f"max_body_bytes must be >= 1024, got {self.max_body_bytes}")
        if not self.feedback_rate > 0 or self.feedback_burst < 1:
            raise InvalidInputError("feedback_rate must be > 0 and feedback_burst >= 1")
        if not self.generation_rate > 0 or self.generation_burst < 1:
            raise InvalidInputError("generation_rate must be > 0 and generation_burst >= 1")
        for name in (
            "signups_per_minute",
            "max_unrated_items",
            "keep_alive_seconds",
            "workers",
            "max_sessions",
        ):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.perceptual_maps < 0:
            raise InvalidInputError(f"perceptual_maps must be >= 0, got {self.perceptual_maps}")
        for name in ("read_timeout", "idle_seconds"):
            if not getattr(self, name) > 0:
                raise InvalidInputError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.max_header_bytes < 1024:
            raise InvalidInputError(
                f"max_header_bytes must be >= 1024, got {self.max_header_bytes}"
            )
        if self.generator not in ("local", "ray"):
            raise InvalidInputError(f"generator must be 'local' or 'ray', got {self.generator!r}")
        if self.ray_replicas < 1 or self.ray_num_gpus < 0 or self.ray_max_batch < 1:
            raise InvalidInputError(
                "ray_replicas and ray_max_batch must be >= 1 and ray_num_gpus >= 0"
            )
        if self.for_you is not None and self.for_you not in MODES:
            raise InvalidInputError(
                f"for_you must be one of {', '.join(MODES)}, got {self.for_you!r}"
            )
        if self.secret is not None and len(self.secret) < 16:
            raise InvalidInputError("secret must be at least 16 characters")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `overrides` (None values ignored), then PLGL_<FIELD> variables."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            raw = environ.get(_ENV_PREFIX + spec.name.upper())
            if raw is not None and raw != "":
                values[spec.name] = _parse(spec.name, raw, cls.__annotations__[spec.name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {spec.name for spec in dataclasses.fields(cls)}
        if unknown:
            raise InvalidInputError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """These settings as PLGL_* variables: how `plgl serve --workers N` hands them to each
        worker process (`from_env` reads them back)."""
        env = {}
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if value is not None:
                env[_ENV_PREFIX + spec.name.upper()] = str(value)
        return env

    def storage_url(self) -> str:
        """The storage URL, defaulting to the SQLite file in the data directory."""
        return self.storage or f"sqlite:///{self.data_dir / 'plgl.db'}"

    def domain_name(self) -> str:
        """The generator to serve: the configured one, else faces (the app falls back to identity
        when the face weights are missing: `plgl.server.app.build_generator`)."""
        return self.domain if self.domain is not None else "faces"

    def secret_key(self) -> bytes:
        """The token-signing key: `secret`, else the data directory's secret file (made once)."""
        if self.secret is not None:
            return self.secret.encode()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.data_dir / _SECRET_FILE
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read_secret(path)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInputError(f"{path} is readable by other users; run `chmod 600 {path}`")
    key = path.read_text().strip()
    if len(key) < 32:
        raise InvalidInputError(f"{path} holds no usable secret; delete it to make one")
    return key.encode()


def _parse(name: str, raw: str, annotation: str) -> Any:
    """One environment value converted to the field's type."""
    try:
        if annotation == "int":
            return int(raw)
        if annotation == "float":
            return float(raw)
    except ValueError:
        raise InvalidInputError(
            f"{_ENV_PREFIX}{name.upper()} must be a{'n int' if annotation == 'int' else ' number'},"
            f" got {raw!r}"
        ) from None
    if annotation == "Path":
        return Path(raw)
    if annotation == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise InvalidInputError(f"{_ENV_PREFIX}{name.upper()} must be true or false, got {raw!r}")
    return raw
