--[[
  Adds one upheld or unfounded case to a reporter's track record, sets its suspension when
  one is given, keeps the record for its retention, and answers the new record. A stored
  count that is not a whole number (junk written by someone with Redis access) counts as 0.

  KEYS[1]  the reporter's record: hash of upheld, unfounded, suspendedUntil   ({prefix}:{<did>}:reporter)
  ARGV[1]  the field to add one to: "upheld" or "unfounded"
  ARGV[2]  retention, ms
  ARGV[3]  suspended until (epoch ms), or "" to leave it as it is

  Output   { upheld, unfounded, suspendedUntil }
]]
local function whole(value)
  local n = tonumber(value)
  if n and n >= 0 and n < 9007199254740992 and n % 1 == 0 then return n end
  return 0
end
local stored = redis.call("HMGET", KEYS[1], "upheld", "unfounded", "suspendedUntil")
local record = { upheld = whole(stored[1]), unfounded = whole(stored[2]), suspendedUntil = whole(stored[3]) }
record[ARGV[1]] = record[ARGV[1]] + 1
if ARGV[3] ~= "" then record.suspendedUntil = whole(ARGV[3]) end
redis.call(
  "HSET", KEYS[1],
  "upheld", string.format("%d", record.upheld),
  "unfounded", string.format("%d", record.unfounded),
  "suspendedUntil", string.format("%d", record.suspendedUntil)
)
redis.call("PEXPIRE", KEYS[1], ARGV[2])
return { record.upheld, record.unfounded, record.suspendedUntil }
