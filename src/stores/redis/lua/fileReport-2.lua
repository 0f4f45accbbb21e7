--[[
  Files a player report against a target ID: one per reporter per window; returns the
  weighted sum of the reports within the window.

  KEYS[1]  reporters of the target within the window (zset: reporter did → time)   ({prefix}:{<target>}:reports)
  KEYS[2]  weight of each of those reports (hash: reporter did → weight)            ({prefix}:{<target>}:report-weights)
  ARGV[1]  reporter did
  ARGV[2]  weight
  ARGV[3]  now (epoch ms)
  ARGV[4]  window, ms

  Output   { 0 }            duplicate: this reporter already reported the target in the window
           { 1, total }     filed; total weight within the window, as a string
]]
local now = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local expired = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", string.format("(%d", now - window))
if #expired > 0 then
  redis.call("ZREM", KEYS[1], unpack(expired))
  redis.call("HDEL", KEYS[2], unpack(expired))
end
if redis.call("ZSCORE", KEYS[1], ARGV[1]) then return { 0 } end
redis.call("ZADD", KEYS[1], ARGV[3], ARGV[1])
redis.call("HSET", KEYS[2], ARGV[1], ARGV[2])
redis.call("PEXPIRE", KEYS[1], window)
redis.call("PEXPIRE", KEYS[2], window)
local total = 0
for _, weight in ipairs(redis.call("HVALS", KEYS[2])) do total = total + tonumber(weight) end
return { 1, string.format("%.17g", total) }
