--[[
  Answers the IDs other than one seen with a signal within the retention, newest first,
  with their first and last sightings. Reads only: a shorter window asked here drops
  nothing (noteSignalId-2.lua drops what is older than the retention).

  KEYS[1]  the signal's IDs: zset did → last seen (epoch ms)     ({prefix}:sig:{<type>:<hash>})
  KEYS[2]  their first sightings: hash did → first seen (ms)     ({prefix}:sig:{<type>:<hash>}:first)
  ARGV[1]  the ID (left out)
  ARGV[2]  now (epoch ms)
  ARGV[3]  retention, ms
  ARGV[4]  most other IDs answered (the caller's limit + 1)

  Output   { did, first, last, … } newest first (first "" when none is kept: junk)
]]
--- @include "peers"
return peers(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]) - tonumber(ARGV[3]), tonumber(ARGV[4]))
