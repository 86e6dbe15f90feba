"""Redis key names and the Lua scripts that change presence atomically (see the layout in ``__init__``).

An *instance* is one life of a node: ``"<node id>#<life>"``; ``life`` grows each time the node id starts
(or the node loses its lease), so leftovers of a previous life never mix with the current one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "madoguchi:"

    @property
    def seq(self) -> str:  # STRING counter: registration numbers, increasing cluster-wide
        return f"{self.prefix}seq"

    @property
    def log(self) -> str:  # STREAM every change of ``where`` (p=peer, l=location or "" removed), capped
        return f"{self.prefix}presence-log"

    @property
    def nodes(self) -> str:  # HASH node id -> current life
        return f"{self.prefix}nodes"

    @property
    def where(self) -> str:  # HASH peer -> "<instance>|<seq>" of its latest registration
        return f"{self.prefix}where"

    @property
    def quality(self) -> str:  # HASH "<session>:<side>" -> JSON [time, stats]
        return f"{self.prefix}quality"

    @property
    def invites(self) -> str:  # HASH "<session>:<staff id>" -> time invited
        return f"{self.prefix}invites"

    def lives(self, node: str) -> str:  # STRING counter per node id
        return f"{self.prefix}lives:{node}"

    def lease(self, name: str) -> str:
        return f"{self.prefix}lease:{name}"

    def alive(self, node: str) -> str:  # STRING the live life of a node, expires (PX ttl) unless refreshed
        return f"{self.prefix}alive:{node}"

    def peers(self, instance: str) -> str:  # HASH peer -> seq, the sockets one instance holds
        return f"{self.prefix}peers:{instance}"

    def channel(self, instance: str) -> str:  # pub/sub channel an instance reads frames and controls from
        return f"{self.prefix}chan:{instance}"

    def lost(self, instance: str) -> str:  # STRING lock: the survivor handling this instance's loss
        return f"{self.prefix}lost:{instance}"

    def room(self, session_id: int) -> str:  # SET peers of a call room (expires unless joined again)
        return f"{self.prefix}room:{session_id}"


LOG_MAXLEN = "100000"  # approximate cap of the presence log; a reader further behind reloads the whole map

# KEYS seq, peers:<inst>, where, log; ARGV peer, inst, log cap -> {seq, previous "<inst>|<seq>" or ""}
REGISTER = """
local s = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], s)
local old = redis.call('HGET', KEYS[3], ARGV[1])
local loc = ARGV[2] .. '|' .. s
redis.call('HSET', KEYS[3], ARGV[1], loc)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'p', ARGV[1], 'l', loc)
if not old then old = '' end
return {s, old}
"""

# KEYS peers:<inst>, where, log; ARGV peer, inst, seq ('' = any), log cap -> 1 if it was the peer's latest registration
UNREGISTER = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or (ARGV[3] ~= '' and cur ~= ARGV[3]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] .. '|' .. cur then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'p', ARGV[1], 'l', '')
  return 1
end
return 0
"""

# KEYS peers:<inst>, where; ARGV inst -> peers whose latest registration is on that instance
GONE = """
local held = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #held, 2 do
  if redis.call('HGET', KEYS[2], held[i]) == ARGV[1] .. '|' .. held[i + 1] then table.insert(out, held[i]) end
end
return out
"""

# KEYS peers:<inst>, where, nodes, log; ARGV inst, node, life, log cap -> how many peers were forgotten
FORGET = """
local held = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #held, 2 do
  if redis.call('HGET', KEYS[2], held[i]) == ARGV[1] .. '|' .. held[i + 1] then
    redis.call('HDEL', KEYS[2], held[i])
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'p', held[i], 'l', '')
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
if redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[3] then redis.call('HDEL', KEYS[3], ARGV[2]) end
return n
"""

# KEYS alive:<node>; ARGV life, ttl ms -> 1 if the lease was still ours and is extended, 0 if it lapsed
REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
