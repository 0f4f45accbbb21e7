--[[
  Records a batch of offense events: the global feed, each ID's history, each ID's
  decaying points per track. One call per flush of the recorder.

  KEYS[1]          the live feed stream                 ({prefix}:feed)
  KEYS[2i]         history stream of event i's ID       ({prefix}:{<did>}:events)
  KEYS[2i+1]       points hash of event i's ID          ({prefix}:{<did>}:points)
  ARGV[1]          now (epoch ms)
  ARGV[2]          retention of events, ms (streams trimmed exactly by MINID, per-ID keys expire)
  ARGV[3+4(i-1)]   event i as JSON
  ARGV[4+4(i-1)]   event i's track
  ARGV[5+4(i-1)]   event i's severity (points)
  ARGV[6+4(i-1)]   the track's half-life, ms

  Points decay: p(now) = p(t) * 2^(-(now - t) / halfLife)   (same formula as src/policy/ladder.ts)

  Output   { { id, pointsBefore, pointsAfter, issuedAt }, ... }  one per event, numbers as
           strings; issuedAt = `at` of the step last issued on the track (0 = none), see markIssued
]]
local now = tonumber(ARGV[1])
local retention = tonumber(ARGV[2])
local minid = string.format("%d", now - retention)
local out = {}
local count = (#KEYS - 1) / 2
local expiring = {} -- each per-ID key gets its TTL once per batch, not once per event
for i = 1, count do
  local a = 3 + (i - 1) * 4
  local json, track, severity, halfLife = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local history, points = KEYS[2 * i], KEYS[2 * i + 1]

  local id = redis.call("XADD", KEYS[1], "MINID", minid, "*", "e", json)
  redis.call("XADD", history, "MINID", minid, id, "e", json)

  local stored = redis.call("HMGET", points, track, track .. ":t", track .. ":s", track .. ":n")
  local before = 0
  if stored[1] then
    local elapsed = math.max(0, now - tonumber(stored[2]))
    before = tonumber(stored[1]) * math.pow(2, -elapsed / halfLife)
  end
  local after = before + severity
  redis.call("HSET", points, track, string.format("%.17g", after), track .. ":t", ARGV[1], track .. ":n", (tonumber(stored[4]) or 0) + 1)
  if not expiring[history] then
    expiring[history] = true
    expiring[points] = true
    redis.call("PEXPIRE", history, retention)
    redis.call("PEXPIRE", points, retention)
  end
  out[i] = { id, string.format("%.17g", before), string.format("%.17g", after), stored[3] or "0" }
end
return out
