--[[
  Appends one entry to the audit log if the log's head is still the one the caller
  chained it to (compare-and-set: the hash chain is computed by the caller, who retries
  on a conflict). Trims entries older than the retention and counts them, so that
  `audit verify` can tell retention from deletion.

  KEYS[1]  audit stream                           ({prefix}:{audit}:log)
  KEYS[2]  audit head hash: seq, hash, trimmed    ({prefix}:{audit}:head)
  ARGV[1]  expected head hash ("" for an empty log)
  ARGV[2]  the entry's seq
  ARGV[3]  the entry as JSON (it carries prev and hash)
  ARGV[4]  the entry's hash
  ARGV[5]  oldest time to keep (epoch ms): older entries are trimmed

  Output   1 appended · 0 conflict (the head moved: recompute and retry)
]]
local head = redis.call("HGET", KEYS[2], "hash") or ""
if head ~= ARGV[1] then return 0 end
redis.call("XADD", KEYS[1], "*", "e", ARGV[3])
redis.call("HSET", KEYS[2], "seq", ARGV[2], "hash", ARGV[4])
local trimmed = redis.call("XTRIM", KEYS[1], "MINID", ARGV[5])
if trimmed > 0 then redis.call("HINCRBY", KEYS[2], "trimmed", trimmed) end
return 1
