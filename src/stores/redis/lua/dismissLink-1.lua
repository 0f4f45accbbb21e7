--[[
  Remembers, on one ID's list, that its link with another ID was dismissed, until a time
  (the later one, if it was dismissed before). Drops ended entries, and junk ends past the
  instants a Date holds; past the most kept, the ones that end soonest go. The list expires
  with its latest entry. The caller writes the other ID's list too (another slot).

  KEYS[1]  the ID's dismissed links: zset other did → until (epoch ms)   ({prefix}:{<did>}:dismissed)
  ARGV[1]  the other ID
  ARGV[2]  until (epoch ms, after now)
  ARGV[3]  now (epoch ms)
  ARGV[4]  most links kept

  Output   1
]]
redis.call("ZADD", KEYS[1], "GT", ARGV[2], ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[3])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "8640000000000000", "+inf")
redis.call("ZREMRANGEBYRANK", KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
local last = redis.call("ZRANGE", KEYS[1], -1, -1, "WITHSCORES")
if last[2] then redis.call("PEXPIREAT", KEYS[1], string.format("%d", math.ceil(tonumber(last[2])))) end
return 1
