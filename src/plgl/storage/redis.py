"""Redis storage (`redis://host:port/db`): for several API servers sharing users' state.

Each write is one Lua script, which Redis runs atomically: the tombstone check, the lookup of an
existing event id and the append cannot interleave with another client's. Keys per user, under
`plgl:u:<user id>:` (the last `:`-separated part names the key's role, so no user id can
collide with another user's keys):

- `events`: list of event JSON, oldest first; `ids`: hash event id -> event JSON;
- `items`: hash item id -> latent (little-endian float64); `sources`: hash item id -> source;
  `order`: list of item ids, oldest first;
- `named`: set of the item ids events name; `unrated`: sorted set of the served items no event
  names, scored by `useq` (a counter of items served), so expiring never reads the events.
  Users written before these existed get them from their events and items once, on their next
  write or expiry (a missing `useq` says so);
- `snapshot`: hash with `position` and `blob`; `settings`: hash key -> JSON value;
- and one set `plgl:tombstones` of deleted user ids, one sorted set `plgl:users` of live user
  ids (all with score 0, so Redis orders them by their bytes: code point order). Users of data
  written before that index existed are added by the first `users()` call (`plgl:users-indexed`
  records that it ran); engine-wide state under `plgl:shared:<name>` (`put_shared`).

An append returns only after the server answered, so an acknowledged event is in the server's
memory and its append-only file; how soon that file reaches the disk is the server's
`appendfsync` setting (`always` makes every acknowledged write survive a server crash too).
A server that cannot be reached raises StorageError; nothing is reported as stored that was not.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from plgl.errors import InvalidInputError, StorageError
from plgl.records import Event, Item, event_item_ids
from plgl.storage import _redis_scripts as scripts
from plgl.storage._base import BaseStorage, Snapshot, UserState, settings_from
from plgl.storage._codec import event_from_json, event_to_json, latent_from_bytes, latent_to_bytes

_TOMBSTONES = "plgl:tombstones"
_USERS = "plgl:users"
_SHARED = "plgl:shared:"
_INDEXED = "plgl:users-indexed"  # set once `plgl:users` lists the users of older data too

_ROLES = (
    "events",
    "ids",
    "items",
    "sources",
    "order",
    "named",
    "unrated",
    "useq",
    "snapshot",
    "settings",
)


class RedisStorage(BaseStorage):
    """Events, items, snapshots and tombstones in a Redis database.

    Args:
        url: `redis://[:password@]host:port/db` (also `rediss://` and `unix://`).
        connect_timeout: seconds to wait for a connection before raising StorageError.
        timeout: seconds to wait for an answer before raising StorageError.
    """

    def __init__(self, url: str, connect_timeout: float = 2.0, timeout: float = 10.0) -> None:
        self.url = url
        # Every write is idempotent (event ids, HSETNX), so a retry after a dropped connection
        # cannot store anything twice; retries are short so an outage is reported within
        # seconds.
        self._client, self._where = connect(url, connect_timeout, timeout, retries=3, cap=0.5)
        self._append_script = self._client.register_script(scripts.APPEND)
        self._put_items_script = self._client.register_script(scripts.PUT_ITEMS)
        self._put_snapshot_script = self._client.register_script(scripts.PUT_SNAPSHOT)
        self._put_settings_script = self._client.register_script(scripts.PUT_SETTINGS)
        self._index_script = self._client.register_script(scripts.INDEX)
        self._expire_script = self._client.register_script(scripts.EXPIRE)
        self._indexed = False
        self._delete_script = self._client.register_script(scripts.DELETE)
        self._state_script = self._client.register_script(scripts.STATE)

    # ------------------------------------------------------------------ reads
    def events(self, user_id: str, start: int = 0) -> list[Event]:
        with self._guard():
            rows = self._client.lrange(_key(user_id, "events"), start, -1)
        return [event_from_json(row) for row in rows]

    def n_events(self, user_id: str) -> int:
        with self._guard():
            return int(self._client.llen(_key(user_id, "events")))

    def item_latent(self, user_id: str, item_id: str) -> np.ndarray | None:
        with self._guard():
            data = self._client.hget(_key(user_id, "items"), item_id)
        return None if data is None else latent_from_bytes(_bytes(data))

    def item_latents(self, user_id: str, item_ids: Iterable[str]) -> dict[str, np.ndarray]:
        wanted = sorted(set(item_ids))
        if not wanted:
            return {}
        with self._guard():
            rows = self._client.hmget(_key(user_id, "items"), wanted)
        found = zip(wanted, rows, strict=True)
        return {i: latent_from_bytes(_bytes(d)) for i, d in found if d is not None}

    def items(self, user_id: str) -> list[Item]:
        with self._guard():
            ids = [
                _bytes(row).decode() for row in self._client.lrange(_key(user_id, "order"), 0, -1)
            ]
            if not ids:
                return []
            pipe = self._client.pipeline(transaction=True)
            pipe.hmget(_key(user_id, "items"), ids)
            pipe.hmget(_key(user_id, "sources"), ids)
            latents, sources = pipe.execute()
        return [
            Item(item_id, latent_from_bytes(latent), None, source.decode())
            for item_id, latent, source in zip(ids, latents, sources, strict=True)
            if latent is not None  # deleted between the two reads
        ]

    def snapshot(self, user_id: str) -> Snapshot | None:
        with self._guard():
            position, blob = self._client.hmget(_key(user_id, "snapshot"), ["position", "blob"])
        if position is None or blob is None:
            return None
        return Snapshot(int(position), _bytes(blob))

    def is_deleted(self, user_id: str) -> bool:
        with self._guard():
            return bool(self._client.sismember(_TOMBSTONES, user_id))

    def state(self, user_id: str) -> UserState:
        keys = [_key(user_id, "events"), _TOMBSTONES, _key(user_id, "settings")]
        with self._guard():  # one script: half the client's work of three commands
            count, deleted, flat = self._state_script(keys=keys, args=[user_id])
        pairs = zip(flat[::2], flat[1::2], strict=True)
        texts = {_bytes(k).decode(): _bytes(v).decode() for k, v in pairs}
        return UserState(int(count), bool(deleted), settings_from(texts))

    def _settings(self, user_id: str) -> dict[str, str]:
        with self._guard():
            rows = self._client.hgetall(_key(user_id, "settings"))
        return {_bytes(key).decode(): _bytes(value).decode() for key, value in rows.items()}

    def _shared(self, name: str) -> bytes | None:
        with self._guard():
            data = self._client.get(_SHARED + name)
        return None if data is None else _bytes(data)

    def _put_shared(self, name: str, data: bytes) -> None:
        with self._guard():
            self._client.set(_SHARED + name, data)

    def _users(self, after: str | None, limit: int) -> list[str]:
        start = "-" if after is None else "(" + after
        with self._guard():
            self._index_older_users()
            rows = self._client.zrangebylex(_USERS, start, "+", start=0, num=limit)
        return [_bytes(row).decode() for row in rows]

    def _index_older_users(self) -> None:
        """Once per database: add the users of data written before the `plgl:users` index
        (every write since adds its user)."""
        if self._indexed or self._client.exists(_INDEXED):
            self._indexed = True
            return
        prefix = "plgl:u:"
        found: set[str] = set()
        for raw in self._client.scan_iter(match=prefix + "*", count=1000):
            key = _bytes(raw).decode()
            user_id, _, role = key[len(prefix) :].rpartition(":")
            if role in _ROLES and user_id:
                found.add(user_id)
        ids = sorted(found)
        for i in range(0, len(ids), 1000):
            self._index_script(keys=[_TOMBSTONES, _USERS], args=ids[i : i + 1000])
        self._client.set(_INDEXED, 1)
        self._indexed = True

    # ----------------------------------------------------------------- writes
    def delete_user(self, user_id: str) -> None:
        keys = [_TOMBSTONES, _USERS, *(_key(user_id, role) for role in _ROLES)]
        with self._guard():
            self._delete_script(keys=keys, args=[user_id])

    def _append_new(self, user_id: str, event: Event) -> Event | None:
        keys = [_TOMBSTONES, _USERS, _key(user_id, "ids"), *_keys(user_id, scripts.UNRATED_ROLES)]
        args = [user_id, event.event_id, event_to_json(event), *event_item_ids(event)]
        with self._guard():
            answer = self._append_script(keys=keys, args=args)
        if answer[0] == 0:
            raise self._deleted(user_id)
        return event_from_json(answer[1]) if answer[0] == 1 else None

    def _put_items(self, user_id: str, items: Sequence[Item]) -> None:
        args: list[Any] = [user_id]
        for item in items:
            args += [item.id, latent_to_bytes(item.latent), item.source]
        keys = [_TOMBSTONES, _USERS, *_keys(user_id, ("items", "sources", *scripts.UNRATED_ROLES))]
        with self._guard():
            answer = self._put_items_script(keys=keys, args=args)
        if answer[0] == 0:
            raise self._deleted(user_id)

    def _expire_unrated(self, user_id: str, keep: int) -> int:
        keys = _keys(user_id, ("items", "sources", *scripts.UNRATED_ROLES))
        with self._guard():
            return int(self._expire_script(keys=keys, args=[keep]))

    def _put_snapshot(self, user_id: str, position: int, blob: bytes) -> None:
        keys = [_TOMBSTONES, _USERS, _key(user_id, "snapshot")]
        with self._guard():
            answer = self._put_snapshot_script(keys=keys, args=[user_id, position, blob])
        if answer[0] == 0:
            raise self._deleted(user_id)

    def _put_settings(self, user_id: str, changes: dict[str, str | None]) -> None:
        args: list[Any] = [user_id]
        for key, value in changes.items():
            args += [key, "del", ""] if value is None else [key, "set", value]
        keys = [_TOMBSTONES, _USERS, _key(user_id, "settings")]
        with self._guard():
            answer = self._put_settings_script(keys=keys, args=args)
        if answer[0] == 0:
            raise self._deleted(user_id)

    def close(self) -> None:
        self._client.close()

    @property
    def client(self) -> redis.Redis:
        """The connection pool's client: others may share it (the server's rate limits do)."""
        return self._client

    def _guard(self) -> contextlib.AbstractContextManager[None]:
        return guard(
            self._where,
            "this call was not acknowledged: retry it (with the same event id) once the server "
            "is back",
        )


def connect(
    url: str, connect_timeout: float, timeout: float, retries: int, cap: float
) -> tuple[redis.Redis, str]:
    """(a client of the Redis at `url`, the URL to print): answers within `timeout` seconds,
    `retries` retries after a dropped connection, backing off up to `cap` seconds.
    InvalidInputError for a URL redis-py cannot read."""
    where = redacted(url)
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            socket_timeout=timeout,
            retry=Retry(ExponentialBackoff(cap=cap, base=cap / 10), retries),
        )
    except ValueError as error:
        raise InvalidInputError(f"bad Redis URL {where!r}: {error}") from error
    return client, where


def redacted(url: str) -> str:
    """`url` with its password hidden, to print."""
    return re.sub(r"//[^@/]*@", "//***@", url)


@contextlib.contextmanager
def guard(where: str, unreachable: str) -> Iterator[None]:
    """Turn redis-py's failures into StorageError that say what to check (`unreachable`: what
    the caller should know when the server cannot be reached)."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as error:
        raise StorageError(f"Redis at {where!r} is unreachable ({error}); {unreachable}") from error
    except redis.RedisError as error:
        raise StorageError(f"Redis at {where!r} failed: {error}") from error


def _bytes(value: bytes | str) -> bytes:
    """The client answers bytes (no decode_responses); this tells the type checker so."""
    return value if isinstance(value, bytes) else value.encode()


def _key(user_id: str, role: str) -> str:
    return f"plgl:u:{user_id}:{role}"


def _keys(user_id: str, roles: Sequence[str]) -> list[str]:
    return [_key(user_id, role) for role in roles]
