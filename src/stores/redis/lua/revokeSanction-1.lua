--[[
  Revokes a stored sanction once, applies retention, and publishes the revocation.

  KEYS[1]  the ID's sanctions hash            ({prefix}:{<did>}:sanctions)
  ARGV[1]  sanction id (hash field)
  ARGV[2]  revocation JSON
  ARGV[3]  retention of ended sanctions, ms
  ARGV[4]  bus channel
  ARGV[5]  bus message JSON

  Output   { 1, sanctionJSON }                  revoked now
           { 2, sanctionJSON, revocationJSON }  was already revoked
           { 0 }                                no such sanction
  Errors   WARDEN_UNREADABLE  the revocation JSON cannot be decoded here; nothing written
           (codes: REPLY_CODES in src/stores/redis/errors.ts)
]]
--- @include "retain"
-- Refuse an unreadable revocation before writing anything.
if not pcall(cjson.decode, ARGV[2]) then
  return redis.error_reply("WARDEN_UNREADABLE revocation record")
end
local sanction = redis.call("HGET", KEYS[1], ARGV[1])
if not sanction then return { 0 } end
local previous = redis.call("HGET", KEYS[1], ARGV[1] .. ":r")
if previous then return { 2, sanction, previous } end
redis.call("HSET", KEYS[1], ARGV[1] .. ":r", ARGV[2])
retain(KEYS[1], tonumber(ARGV[3]))
redis.call("PUBLISH", ARGV[4], ARGV[5])
return { 1, sanction }
