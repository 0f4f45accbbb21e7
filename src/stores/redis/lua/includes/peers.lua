--[[
  peers(ids, firsts, did, cutoff, want): the IDs other than `did` seen with one signal at or
  after `cutoff`, newest first, at most `want`, as { did, first, last, … } (first "" when the
  `first` hash has none: junk, skipped by the caller). Reads at most want + 1 members:
  O(peers). Last-seen scores past the instants a Date holds (junk) are never read.

  ids     the signal's IDs: zset did → last seen   ({prefix}:sig:{<type>:<hash>})
  firsts  their first sightings: hash did → first  ({prefix}:sig:{<type>:<hash>}:first)
]]
local function peers(ids, firsts, did, cutoff, want)
  local flat = redis.call(
    "ZREVRANGEBYSCORE", ids, "(8640000000000000", string.format("%d", cutoff),
    "WITHSCORES", "LIMIT", 0, want + 1
  )
  local found, lasts = {}, {}
  for i = 1, #flat, 2 do
    if flat[i] ~= did and #found < want then
      found[#found + 1] = flat[i]
      lasts[#lasts + 1] = flat[i + 1]
    end
  end
  if #found == 0 then return {} end
  local first = redis.call("HMGET", firsts, unpack(found))
  local out = {}
  for i, peer in ipairs(found) do
    out[#out + 1] = peer
    out[#out + 1] = first[i] or ""
    out[#out + 1] = lasts[i]
  end
  return out
end
