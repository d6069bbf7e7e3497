"""The Lua scripts of `plgl.storage.redis`: each write is one script, which Redis runs
atomically, so a check and the write it guards cannot interleave with another client's.
"""

# Every write script takes KEYS[1] = tombstones, KEYS[2] = users, ARGV[1] = user id, and starts
# with this: nothing is written for a deleted user, and a user written to is live.
LIVE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {0} end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
"""

# Defines index_unrated(order, events, named, unrated, useq): for a user whose data predates
# `named`/`unrated` (no `useq`), builds them from the events and the served items, once.
INDEX_UNRATED = """
local function index_unrated(order, events, named, unrated, useq)
  if redis.call('EXISTS', useq) == 1 then return end
  redis.call('DEL', named, unrated)
  for _, body in ipairs(redis.call('LRANGE', events, 0, -1)) do
    local event = cjson.decode(body)
    for _, field in ipairs({'item_id', 'preferred_id', 'other_id'}) do
      if type(event[field]) == 'string' then redis.call('SADD', named, event[field]) end
    end
    for _, id in ipairs(event['others'] or {}) do redis.call('SADD', named, id) end
  end
  local ids = redis.call('LRANGE', order, 0, -1)
  for i, id in ipairs(ids) do
    if redis.call('SISMEMBER', named, id) == 0 then redis.call('ZADD', unrated, i, id) end
  end
  redis.call('SET', useq, #ids)
end
"""
UNRATED_ROLES = ("order", "events", "named", "unrated", "useq")

# KEYS: tombstones, users, ids, then UNRATED_ROLES. ARGV: user id, event id, event JSON, then
# the ids of the items the event names.
# Returns {0} if the user was deleted, {1, stored JSON} if the id is taken, {2} if appended.
APPEND = (
    INDEX_UNRATED
    + LIVE
    + """
local stored = redis.call('HGET', KEYS[3], ARGV[2])
if stored then return {1, stored} end
index_unrated(KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('RPUSH', KEYS[5], ARGV[3])
for i = 4, #ARGV do
  redis.call('SADD', KEYS[6], ARGV[i])
  redis.call('ZREM', KEYS[7], ARGV[i])
end
return {2}
"""
)

# KEYS: tombstones, users, items, sources, then UNRATED_ROLES. ARGV: user id, then (id,
# latent, source) triples. Returns {0} if the user was deleted, else {1}.
PUT_ITEMS = (
    INDEX_UNRATED
    + LIVE
    + """
index_unrated(KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
for i = 2, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[3], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 2])
    redis.call('RPUSH', KEYS[5], ARGV[i])
    local seq = redis.call('INCR', KEYS[9])
    if redis.call('SISMEMBER', KEYS[7], ARGV[i]) == 0 then
      redis.call('ZADD', KEYS[8], seq, ARGV[i])
    end
  end
end
return {1}
"""
)

# KEYS: tombstones, users, snapshot. ARGV: user id, position, blob.
PUT_SNAPSHOT = (
    LIVE
    + """
redis.call('HSET', KEYS[3], 'position', ARGV[2], 'blob', ARGV[3])
return {1}
"""
)

# KEYS: tombstones, users, settings. ARGV: user id, then (key, "set" | "del", JSON) triples.
PUT_SETTINGS = (
    LIVE
    + """
for i = 2, #ARGV, 3 do
  if ARGV[i + 1] == 'del' then
    redis.call('HDEL', KEYS[3], ARGV[i])
  else
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2])
  end
end
return {1}
"""
)

# KEYS: items, sources, then UNRATED_ROLES. ARGV: keep. Forgets the oldest unrated items
# beyond the newest `keep` of them (the common case, no more than `keep`, reads two counts).
# Returns how many were forgotten.
EXPIRE = (
    INDEX_UNRATED
    + """
local keep = tonumber(ARGV[1])
if redis.call('LLEN', KEYS[3]) <= keep then return 0 end
index_unrated(KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
local drop = redis.call('ZCARD', KEYS[6]) - keep
if drop <= 0 then return 0 end
for _, id in ipairs(redis.call('ZRANGE', KEYS[6], 0, drop - 1)) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('LREM', KEYS[3], 1, id)
end
redis.call('ZREMRANGEBYRANK', KEYS[6], 0, drop - 1)
return drop
"""
)

# KEYS: tombstones, users, indexed. ARGV: user ids found in keys written before `plgl:users`.
INDEX = """
for i = 1, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then redis.call('ZADD', KEYS[2], 0, ARGV[i]) end
end
return 1
"""

# KEYS: tombstones, users, then every key of the user. ARGV: user id.
DELETE = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
return 1
"""

# A user's state, read at one moment: KEYS = events, tombstones, settings; ARGV[1] = user id.
# Returns {number of events, 1 if tombstoned, settings as a flat key, value, ... list}.
STATE = """
return {redis.call('LLEN', KEYS[1]), redis.call('SISMEMBER', KEYS[2], ARGV[1]),
        redis.call('HGETALL', KEYS[3])}
"""
