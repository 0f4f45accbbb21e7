--[[
  Notes one report filed by a reporter and answers how many it filed within the window up
  to now, this one included. Keeps at most ARGV[4] of them (the newest): the count stops
  there, which is all a limit needs.

  KEYS[1]  the reporter's reports: zset unique member → time   ({prefix}:{<did>}:reported-by)
  ARGV[1]  now (epoch ms)
  ARGV[2]  window, ms
  ARGV[3]  a member unique to this call (two reports in the same ms are two)
  ARGV[4]  most reports kept

  Output   the number of reports within the window
]]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", string.format("(%d", now - window))
redis.call("ZADD", KEYS[1], ARGV[1], ARGV[3])
redis.call("ZREMRANGEBYRANK", KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
redis.call("PEXPIRE", KEYS[1], window)
return redis.call("ZCARD", KEYS[1])
