--[[
  Appends a batch of audit entries, all or none, if the log's head is still the one the
  caller chained the first of them to (compare-and-set: the hash chain is computed by the
  caller, who rechains on the head this script answers with and retries). The entries must
  chain to the head and to one another (seq + 1, prev = hash of the one before). Trims
  entries older than the retention and counts them, so that `audit verify` can tell
  retention from deletion.

  KEYS[1]  audit stream                           ({prefix}:{audit}:log)
  KEYS[2]  audit head hash: seq, hash, trimmed    ({prefix}:{audit}:head)
  ARGV[1]  expected head hash ("" for an empty log)
  ARGV[2]  oldest time to keep (epoch ms): older entries are trimmed
  ARGV[3]  number of entries n (0 … a few hundred)
  ARGV[4 + 4i … 7 + 4i]  entry i (i = 0 … n - 1): seq, prev hash, hash, the entry as JSON

  Output   {1, seq, hash, trimmed}   appended; the new head
           {0, seq, hash, trimmed}   conflict: the head moved; rechain on this head and retry
  Errors   WARDEN_UNCHAINED  the entries do not chain to the head or to one another; nothing written
           (codes: REPLY_CODES in src/stores/redis/errors.ts)
]]
local head = redis.call("HMGET", KEYS[2], "seq", "hash", "trimmed")
local seq = head[1] or "0"
local hash = head[2] or ""
local trimmed = tonumber(head[3]) or 0
if hash ~= ARGV[1] then return {0, tonumber(seq), hash, trimmed} end

-- Check the whole batch before writing any of it: all or none.
local n = tonumber(ARGV[3])
local lastSeq, lastHash = seq, hash
for i = 0, n - 1 do
  local at = 4 + 4 * i
  if tonumber(ARGV[at]) ~= tonumber(lastSeq) + 1 or ARGV[at + 1] ~= lastHash then
    return redis.error_reply("WARDEN_UNCHAINED entry " .. (i + 1) .. " of " .. n .. " does not follow seq " .. lastSeq .. " (the log's head is at seq " .. seq .. ")")
  end
  lastSeq, lastHash = ARGV[at], ARGV[at + 2]
end
if n == 0 then return {1, tonumber(seq), hash, trimmed} end

for i = 0, n - 1 do
  redis.call("XADD", KEYS[1], "*", "e", ARGV[7 + 4 * i])
end
redis.call("HSET", KEYS[2], "seq", lastSeq, "hash", lastHash)
local cut = redis.call("XTRIM", KEYS[1], "MINID", ARGV[2])
if cut > 0 then trimmed = redis.call("HINCRBY", KEYS[2], "trimmed", cut) end
return {1, tonumber(lastSeq), lastHash, trimmed}
