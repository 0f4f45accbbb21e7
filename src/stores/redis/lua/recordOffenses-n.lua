--[[
  Records a group of offense events: one recording bucket's shard of the live feed, each ID's
  history, each ID's decaying points per track. One call per bucket of a flush of the
  recorder: every key carries the bucket's hash tag, so the call fits one Cluster slot.

  In the same atomic step it decides which ladder step each event makes due and marks it
  (`<track>:s` of the points hash): the mark is read and written here only, so two batches
  in flight, two processes or a replay cannot issue one step twice (compare-and-set by
  construction). And it skips an event whose uid it has recorded already, so a batch
  retried after a lost reply records nothing twice.

  KEYS[1]          the bucket's feed shard              ({prefix}:{b<k>}:feed)
  KEYS[3i-1]       history stream of event i's ID       ({prefix}:{b<k>}:<did>:events)
  KEYS[3i]         points hash of event i's ID          ({prefix}:{b<k>}:<did>:points)
  KEYS[3i+1]       recorded uids of event i's ID        ({prefix}:{b<k>}:<did>:recorded)
  ARGV[1]          now (epoch ms)
  ARGV[2]          retention of events, ms (streams trimmed exactly by MINID, per-ID keys expire)
  ARGV[3]          dedupe window, ms (uids recorded longer ago are forgotten)
  ARGV[4]          HYSTERESIS   } as in src/policy/ladder.ts
  ARGV[5]          EPSILON      }
  ARGV[6]          upkeep interval of a recorded set, ms (see below)
  ARGV[7+6(i-1)]   event i as JSON
  ARGV[8+6(i-1)]   event i's uid ("" = none: not deduplicated)
  ARGV[9+6(i-1)]   event i's track
  ARGV[10+6(i-1)]  event i's severity (points)
  ARGV[11+6(i-1)]  the track's half-life, ms
  ARGV[12+6(i-1)]  the track's ladder: the steps' `at` values, ascending, space-separated ("" = none)

  Points decay: p(now) = p(t) * 2^(-max(0, now - t) / halfLife)   (decay() in src/policy/ladder.ts)
  The step: escalate() in src/policy/ladder.ts, rule for rule (test/escalation-once.test.ts
  checks that both give the same steps).

  Points hash fields: `<track>` points, `<track>:t` when written, `<track>:n` count, `<track>:s`
  the `at` of the step last issued, `:recorded` when the recorded set was last looked after.
  An ID with several events in the batch has each track read once and its hash written once,
  at the end: a flooding ID costs two XADDs and a ZADD per event, not two more commands.

  The recorded set holds `<uid>` for every event and `<uid>><k>` for one that made step k due,
  both scored with the time of the write: a duplicate hands back the step of its first write.
  Its upkeep — dropping uids older than the window, and its TTL (retention + interval) — is done
  at most once per interval per ID, not with every batch: a uid is forgotten between the window
  and an interval later.

  Output   one per event:  { 1, id, pointsBefore, pointsAfter, step }  recorded (points as strings)
                           { 0, step }                                  duplicate uid, nothing written
           step = 0-based index in the event's ladder of the step made due, -1 = none
]]
local now = tonumber(ARGV[1])
local retention = tonumber(ARGV[2])
local hysteresis, epsilon = tonumber(ARGV[4]), tonumber(ARGV[5])
local upkeepEvery = tonumber(ARGV[6])
local minid = string.format("%d", now - retention)
local forgetBefore = "(" .. string.format("%d", now - tonumber(ARGV[3]))
local out = {}
local count = (#KEYS - 1) / 3
local expiring = {} -- each history stream gets its TTL once per batch (a points hash with its HSET)
local upkept = {} -- recorded set -> true once looked at in this batch
local upkeptAt = {} -- points hash -> true when `:recorded` is to be written
local tracks = {} -- points hash -> track -> { points, t, s, sText (new mark), n, upkeptAt, dirty }
local listed, written = {}, {} -- points hashes with something to write, in order
local ladders = {} -- ladder text -> { { at, at as given }, ... }, parsed once per batch

local function ladderOf(text)
  local ladder = ladders[text]
  if ladder == nil then
    ladder = {}
    for at in string.gmatch(text, "%S+") do ladder[#ladder + 1] = { tonumber(at), at } end
    ladders[text] = ladder
  end
  return ladder
end

-- stepAt(): the greatest step at or below `points` (within epsilon); 0 below the first.
local function stepAt(ladder, points)
  for j = #ladder, 1, -1 do
    if points >= ladder[j][1] - epsilon then return j end
  end
  return 0
end

local function read(points, track)
  local stored = redis.call("HMGET", points, track, track .. ":t", track .. ":s", track .. ":n", ":recorded")
  return {
    points = tonumber(stored[1]),
    t = tonumber(stored[2]),
    s = tonumber(stored[3]) or 0,
    n = tonumber(stored[4]) or 0,
    upkeptAt = tonumber(stored[5]) or 0,
  }
end

-- The fields to write for one track (`:s` only when this batch issued a step).
local function fieldsOf(fields, track, state)
  fields[#fields + 1] = track
  fields[#fields + 1] = string.format("%.17g", state.points)
  fields[#fields + 1] = track .. ":t"
  fields[#fields + 1] = ARGV[1]
  fields[#fields + 1] = track .. ":n"
  fields[#fields + 1] = state.n
  if state.sText then
    fields[#fields + 1] = track .. ":s"
    fields[#fields + 1] = state.sText
  end
end

-- An ID with one event in the batch is read and written at once; one with several is read
-- once per track and written once at the end.
local perHash = {}
for i = 1, count do
  local points = KEYS[3 * i]
  perHash[points] = (perHash[points] or 0) + 1
end

for i = 1, count do
  local a = 7 + (i - 1) * 6
  local json, uid, track = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local history, points, recorded = KEYS[3 * i - 1], KEYS[3 * i], KEYS[3 * i + 1]
  local shared = perHash[points] > 1
  local state
  if shared then
    local byTrack = tracks[points]
    if byTrack == nil then
      byTrack = {}
      tracks[points] = byTrack
    end
    state = byTrack[track]
    if state == nil then
      state = read(points, track)
      byTrack[track] = state
    end
  else
    state = read(points, track)
  end

  -- Upkeep before the check, so that a uid past the window is forgotten whatever its place in the batch.
  local upkeep = false
  if uid ~= "" and not upkept[recorded] then
    upkept[recorded] = true
    if now - state.upkeptAt >= upkeepEvery then
      upkeep = true
      redis.call("ZREMRANGEBYSCORE", recorded, "-inf", forgetBefore)
    end
  end

  if uid ~= "" and redis.call("ZADD", recorded, "NX", ARGV[1], uid) == 0 then
    local ladder, step = ladderOf(ARGV[a + 5]), -1
    for j = 1, #ladder do
      if redis.call("ZSCORE", recorded, uid .. ">" .. (j - 1)) then
        step = j - 1
        break
      end
    end
    out[i] = { 0, step }
  else
    local severity, halfLife = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
    local id = redis.call("XADD", KEYS[1], "MINID", minid, "*", "e", json)
    redis.call("XADD", history, "MINID", minid, id, "e", json)

    local before = 0
    if state.points then
      local elapsed = math.max(0, now - state.t)
      before = state.points * math.pow(2, -elapsed / halfLife)
    end
    local after = before + severity

    -- escalate(): the step at `after` if it is higher than the one held before the event.
    local ladder, step = ladderOf(ARGV[a + 5]), 0
    local nextStep = stepAt(ladder, after)
    if nextStep > 0 then
      local reached = stepAt(ladder, before)
      local held = reached > 0 and ladder[reached][1] or 0
      if state.s > 0 and before >= state.s - hysteresis then held = math.max(state.s, held) end
      if ladder[nextStep][1] > held then step = nextStep end
    end

    -- (%.17g round-trips a double: the next event sees what it would have read back.)
    state.points, state.t, state.n = after, now, state.n + 1
    if step > 0 then
      -- The `at` as given, not Lua's rendering of it (%.14g would round it).
      state.s, state.sText = ladder[step][1], ladder[step][2]
      if uid ~= "" then redis.call("ZADD", recorded, ARGV[1], uid .. ">" .. (step - 1)) end
    end
    local afterText = string.format("%.17g", after)
    if shared then
      if not state.dirty then
        state.dirty = true
        if not listed[points] then
          listed[points] = true
          written[#written + 1] = points
        end
      end
    elseif state.sText == nil and not upkeep then
      redis.call("HSET", points, track, afterText, track .. ":t", ARGV[1], track .. ":n", state.n)
      redis.call("PEXPIRE", points, retention)
    else
      local fields = {}
      fieldsOf(fields, track, state)
      if upkeep then
        fields[#fields + 1] = ":recorded"
        fields[#fields + 1] = ARGV[1]
      end
      redis.call("HSET", points, unpack(fields))
      redis.call("PEXPIRE", points, retention)
    end
    if not expiring[history] then
      expiring[history] = true
      redis.call("PEXPIRE", history, retention)
    end
    out[i] = { 1, id, string.format("%.17g", before), afterText, step - 1 }
  end
  if upkeep then
    -- After the ZADD, which may have created the set.
    redis.call("PEXPIRE", recorded, retention + upkeepEvery)
    upkeptAt[points] = true
  end
end

for _, points in ipairs(written) do
  local fields = {}
  for track, state in pairs(tracks[points]) do
    if state.dirty then fieldsOf(fields, track, state) end
  end
  -- Noted only with a recorded event: a hash of nothing but `:recorded` would have no TTL.
  if upkeptAt[points] then
    fields[#fields + 1] = ":recorded"
    fields[#fields + 1] = ARGV[1]
  end
  redis.call("HSET", points, unpack(fields))
  redis.call("PEXPIRE", points, retention)
end
return out
