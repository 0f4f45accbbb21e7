--[[
  Notes that an ID takes part in a review record whose subject is another ID (a reporter,
  the author of a chat line), for as long as that record is kept, so that forgetting the ID
  finds the record. Drops entries of records that expired, and keeps the index as long as
  its longest-kept entry.

  KEYS[1]  the ID's index: zset record id → when that record expires   ({prefix}:{<did>}:involved)
  ARGV[1]  now (epoch ms)
  ARGV[2]  when the record expires (epoch ms, after now)
  ARGV[3]  record id

  Output   1
]]
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[3])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
local last = redis.call("ZRANGE", KEYS[1], -1, -1, "WITHSCORES")
if last[2] then redis.call("PEXPIREAT", KEYS[1], string.format("%d", math.ceil(tonumber(last[2])))) end
return 1
