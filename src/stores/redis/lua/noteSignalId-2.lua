--[[
  Notes an ID in one signal's list of IDs, with when it was first and last seen with it (as
  the ID's own list decided: noteOwnSignals-1.lua), and answers the other IDs seen with the
  signal within the retention, newest first, with their first and last sightings.

  Entries older than the retention are dropped as they are met — from both keys together,
  member by member (a ZREMRANGEBYSCORE would leave their first sightings behind), at most
  1000 per call; so are last-seen scores past the instants a Date holds (junk). Past the
  most kept, the least recently seen go. Both keys expire `retention` after this write.

  KEYS[1]  the signal's IDs: zset did → last seen (epoch ms)     ({prefix}:sig:{<type>:<hash>})
  KEYS[2]  their first sightings: hash did → first seen (ms)     ({prefix}:sig:{<type>:<hash>}:first)
  ARGV[1]  the ID
  ARGV[2]  when it was first seen with the signal (epoch ms)
  ARGV[3]  when it was last seen with it (epoch ms)
  ARGV[4]  now (epoch ms)
  ARGV[5]  retention, ms
  ARGV[6]  most other IDs answered (the caller's limit + 1)
  ARGV[7]  most IDs kept

  Output   { did, first, last, … } the other IDs, newest first (first "" when none is kept: junk)
]]
--- @include "peers"
local cutoff = tonumber(ARGV[4]) - tonumber(ARGV[5])
local most = tonumber(ARGV[7])

local function remove(members)
  if #members == 0 then return end
  redis.call("ZREM", KEYS[1], unpack(members))
  redis.call("HDEL", KEYS[2], unpack(members))
end

remove(redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", string.format("(%d", cutoff), "LIMIT", 0, 1000))
remove(redis.call("ZRANGEBYSCORE", KEYS[1], "8640000000000000", "+inf", "LIMIT", 0, 1000))
-- GT: two notes of one ID racing from two processes never move its last sighting back.
redis.call("ZADD", KEYS[1], "GT", ARGV[3], ARGV[1])
redis.call("HSET", KEYS[2], ARGV[1], ARGV[2])
local over = redis.call("ZCARD", KEYS[1]) - most
if over > 0 then remove(redis.call("ZRANGE", KEYS[1], 0, math.min(over, 1000) - 1)) end
redis.call("PEXPIRE", KEYS[1], ARGV[5])
redis.call("PEXPIRE", KEYS[2], ARGV[5])
return peers(KEYS[1], KEYS[2], ARGV[1], cutoff, tonumber(ARGV[6]))
