--[[
  Stores a new sanction, applies retention to the ID's sanctions, and publishes it.

  KEYS[1]  the ID's sanctions hash            ({prefix}:{<did>}:sanctions)
  ARGV[1]  sanction id (hash field)
  ARGV[2]  sanction JSON
  ARGV[3]  retention of ended sanctions, ms
  ARGV[4]  bus channel
  ARGV[5]  bus message JSON

  Output   1
  Errors   WARDEN_UNREADABLE  the sanction JSON cannot be decoded here; nothing written
           (codes: REPLY_CODES in src/stores/redis/errors.ts)
]]
--- @include "retain"
-- Decode before writing: a record that retain() could not read must never be stored
-- (a script error after a write leaves the write in place).
if not pcall(cjson.decode, ARGV[2]) then
  return redis.error_reply("WARDEN_UNREADABLE sanction record")
end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
retain(KEYS[1], tonumber(ARGV[3]))
redis.call("PUBLISH", ARGV[4], ARGV[5])
return 1
