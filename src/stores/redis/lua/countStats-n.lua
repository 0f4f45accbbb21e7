--[[
  Adds to one day's counters of the transparency report and appends to its sample lists,
  in one step; keeps every key of the day for the retention. A stored counter that is no
  number (junk written by someone with Redis access) counts as 0.

  KEYS[1]        the day's counters: hash name → count               ({prefix}:{stats}:day:<day>)
  KEYS[2]        the names of the day's sample lists: set            ({prefix}:{stats}:day:<day>:samples)
  KEYS[2+i]      the day's list of samples i (i = 1 … m), newest last ({prefix}:{stats}:day:<day>:sample:<name>)
  ARGV[1]        retention, ms
  ARGV[2]        number of counters c
  ARGV[3 … 2+2c] counter name, amount (pairs)
  ARGV[3+2c+2(i-1)], ARGV[4+2c+2(i-1)]   sample i's name and value (ms)
  ARGV[last]     most samples kept per list (the newest)

  Output   1
]]
local keep = ARGV[1]
local c = tonumber(ARGV[2])
for i = 0, c - 1 do
  local name, amount = ARGV[3 + 2 * i], tonumber(ARGV[4 + 2 * i])
  local n = tonumber(redis.call("HGET", KEYS[1], name))
  if n == nil or n ~= n then n = 0 end
  redis.call("HSET", KEYS[1], name, string.format("%.17g", n + amount))
end
if c > 0 then redis.call("PEXPIRE", KEYS[1], keep) end
local most = tonumber(ARGV[#ARGV])
for i = 1, #KEYS - 2 do
  local a = 3 + 2 * c + 2 * (i - 1)
  redis.call("SADD", KEYS[2], ARGV[a])
  redis.call("RPUSH", KEYS[2 + i], ARGV[a + 1])
  redis.call("LTRIM", KEYS[2 + i], -most, -1)
  redis.call("PEXPIRE", KEYS[2 + i], keep)
end
if #KEYS > 2 then redis.call("PEXPIRE", KEYS[2], keep) end
return 1
