--[[
  Notes that an ID was seen with some signals, in the ID's own list of signals, and answers
  for each when the ID was first and last seen with it. This list decides an ID's first
  sighting of a signal; the signal's own keys (noteSignalId-2.lua, written after this
  script answered: another slot) mirror it. Written first, so that `forget` finds every
  signal whose list of IDs may hold the ID.

  Entries older than the retention, and junk (a field that is no `<type>:<hash>`, a value
  that is no `<first>:<last>` of instants — written by someone with Redis access), are
  dropped as they are met; past the most kept, the least recently seen go (never one noted
  now). The signals dropped are answered, so that the caller takes the ID out of their
  lists of IDs too.

  KEYS[1]  the ID's signals: hash `<type>:<hash>` → `<first>:<last>`   ({prefix}:{<did>}:signals)
  ARGV[1]  now (epoch ms)
  ARGV[2]  retention, ms: entries last seen before now - retention are dropped; the key expires that long after this write
  ARGV[3]  most signals kept
  ARGV[4…] the signals noted, as `<type>:<hash>`, each once

  Output   { { first, last, first, last, … }, { dropped signal, … } }
           one pair per signal noted, in order; at most 64 dropped signals named (junk beyond is only deleted)
]]
local MAX_INSTANT = 8640000000000000
local MAX_NAMED = 64
local TYPES = { device = true, address = true, prefix = true }
local now = tonumber(ARGV[1])
local cutoff = now - tonumber(ARGV[2])
local most = tonumber(ARGV[3])

local function isSignal(field)
  local kind, hash = string.match(field, "^(%l+):([a-z2-7]+)$")
  return kind ~= nil and TYPES[kind] == true and #hash == 26
end

-- `<first>:<last>` of whole instants, first at or before last; nil for anything else.
local function sighting(value)
  local first, last = string.match(value, "^(%d+):(%d+)$")
  if not first then return nil end
  first, last = tonumber(first), tonumber(last)
  if last >= MAX_INSTANT or first > last then return nil end
  return { first, last }
end

local noted = {}
for i = 4, #ARGV do noted[ARGV[i]] = true end

local kept, others, gone, dropped = {}, {}, {}, {}
local function drop(field)
  gone[#gone + 1] = field
  -- (one noted now is written again below: its list of IDs keeps the ID)
  if isSignal(field) and not noted[field] and #dropped < MAX_NAMED then dropped[#dropped + 1] = field end
end
local all = redis.call("HGETALL", KEYS[1])
for i = 1, #all, 2 do
  local field = all[i]
  local seen = isSignal(field) and sighting(all[i + 1])
  if not seen or seen[2] < cutoff then
    drop(field)
  else
    kept[field] = seen
    if not noted[field] then others[#others + 1] = field end
  end
end

local out = {}
for i = 4, #ARGV do
  local seen = kept[ARGV[i]]
  if seen then
    seen = { math.min(seen[1], now), math.max(seen[2], now) }
  else
    seen = { now, now }
  end
  kept[ARGV[i]] = seen
  out[#out + 1] = seen[1]
  out[#out + 1] = seen[2]
end

local over = #others + (#ARGV - 3) - most
if over > 0 then
  table.sort(others, function(a, b)
    if kept[a][2] ~= kept[b][2] then return kept[a][2] < kept[b][2] end
    return a < b
  end)
  for i = 1, over do drop(others[i]) end
end

for i = 1, #gone, 1000 do
  redis.call("HDEL", KEYS[1], unpack(gone, i, math.min(i + 999, #gone)))
end
for i = 4, #ARGV do
  local seen = kept[ARGV[i]]
  redis.call("HSET", KEYS[1], ARGV[i], string.format("%d:%d", seen[1], seen[2]))
end
redis.call("PEXPIRE", KEYS[1], ARGV[2])
return { out, dropped }
