--[[
  Forgiveness (an upheld appeal, a revoke marked wrongful): lowers one track's points to at
  most a cap and sets the mark of the step last issued, in one atomic step with the
  recording script (recordOffenses-n.lua, same hash and fields), so that the next offense
  does not climb past the forgiven step. Nothing happens when the track has no points.

  KEYS[1]  the ID's points hash   ({prefix}:{<did>}:points)
  ARGV[1]  track
  ARGV[2]  cap (points)
  ARGV[3]  the mark: `at` of the step now counted as last issued, "" = none
  ARGV[4]  now (epoch ms)
  ARGV[5]  the track's half-life, ms
  ARGV[6]  "" = always; else the `at` of the forgiven step: nothing happens when a later step
           (a higher mark) was issued since — that step's sanction stands on its own points

  Points decay: p(now) = p(t) * 2^(-max(0, now - t) / halfLife)   (decay() in src/policy/ladder.ts)
  Fields: `<track>` points, `<track>:t` when written, `<track>:s` the mark (`<track>:n`, the
  count, is left as it is).

  Output   1 forgiven, 0 no points on the track or a later step issued (nothing written)
]]
local track = ARGV[1]
local stored = redis.call("HMGET", KEYS[1], track, track .. ":t", track .. ":s")
local points = tonumber(stored[1])
-- (NaN is the one value not equal to itself: junk, not points.)
if points == nil or points ~= points then return 0 end
if ARGV[6] ~= nil and ARGV[6] ~= "" then
  local mark = tonumber(stored[3]) or 0
  if mark > tonumber(ARGV[6]) + 1e-9 then return 0 end
end
local now = tonumber(ARGV[4])
local t = tonumber(stored[2]) or now
local decayed = points * math.pow(2, -math.max(0, now - t) / tonumber(ARGV[5]))
local cap = tonumber(ARGV[2])
if decayed > cap then decayed = cap end
-- (%.17g round-trips a double: the next event reads back exactly this.)
redis.call("HSET", KEYS[1], track, string.format("%.17g", decayed), track .. ":t", ARGV[4])
if ARGV[3] == "" then
  redis.call("HDEL", KEYS[1], track .. ":s")
else
  redis.call("HSET", KEYS[1], track .. ":s", ARGV[3])
end
return 1
