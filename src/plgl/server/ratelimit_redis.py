"""Token buckets in Redis, shared by every worker and machine that serves over one Redis.

Each take (or refund) is one Lua script, which Redis runs atomically, on the server's clock
(`TIME`), so workers with skewed clocks still agree. A bucket is a hash `plgl:limit:<key>` with
`tokens` and `at`; it expires once it would be full again, so Redis holds only the buckets of
keys active within their refill time. The server runs it over the storage's own client
(`RedisRateLimiter.sharing`): one connection pool per worker, one way to connect and to report
failures (`plgl.storage.redis.connect` and `guard`).
"""

from __future__ import annotations

import redis

from plgl.server.ratelimit import BaseRateLimiter
from plgl.storage.redis import RedisStorage, connect, guard, redacted

_PREFIX = "plgl:limit:"
_UNREACHABLE = "the rate limits cannot be read, so the request is refused"

# KEYS: the bucket. ARGV: rate, burst, "take" | "refund". Returns the seconds to wait as text
# (Redis would truncate a Lua number to an integer).
_BUCKET = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
if ARGV[3] == 'refund' and not state[1] then return '0' end
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if ARGV[3] == 'refund' then
  tokens = math.min(burst, tokens + 1)
elseif tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at',
  string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return string.format('%.17g', wait)
"""


class RedisRateLimiter(BaseRateLimiter):
    """Token buckets by key in a Redis database (`redis://host:port/db`).

    Args:
        url: the Redis server (the storage's: buckets live under `plgl:limit:`).
        timeout: seconds to wait for a connection or an answer before raising StorageError.
        client: a client to share (the storage's, `RedisStorage.client`: one connection pool
            per worker); None connects to `url`. A shared client is not closed here.
    """

    def __init__(self, url: str, timeout: float = 2.0, client: redis.Redis | None = None) -> None:
        self._owned = client is None
        if client is None:
            client, self._where = connect(url, timeout, timeout, retries=2, cap=0.2)
        else:
            self._where = redacted(url)
        self._client = client
        self._script = self._client.register_script(_BUCKET)

    @classmethod
    def sharing(cls, storage: RedisStorage) -> RedisRateLimiter:
        """Buckets in the storage's Redis, over the storage's connection pool."""
        return cls(storage.url, client=storage.client)

    def take(self, key: str, rate: float, burst: int) -> float:
        with guard(self._where, _UNREACHABLE):
            return float(self._script(keys=[_PREFIX + key], args=[rate, burst, "take"]))

    def refund(self, key: str, rate: float, burst: int) -> None:
        with guard(self._where, _UNREACHABLE):
            self._script(keys=[_PREFIX + key], args=[rate, burst, "refund"])

    def close(self) -> None:
        if self._owned:
            self._client.close()
