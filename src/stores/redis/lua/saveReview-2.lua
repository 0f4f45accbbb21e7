--[[
  Saves a review record (appeal, report case, evidence, suspected evasion, pending ban) if the stored one is still at the
  revision the caller read (compare-and-set: two processes or moderators never overwrite
  each other), keeps it for its retention and lists it under its subject. The review queues
  and the `involved` indexes of other IDs live in other slots: the caller keeps them after
  this script answered (src/stores/redis/redis-store.ts).

  A stored record the warden cannot read (not JSON, or without its id, did, type, state,
  revision or openedAt, or a suspected evasion without its link object, banned ID or ban
  id — written by someone with Redis access) counts as none, as it does when the warden
  reads it (toReview in src/stores/memory/memory-store.ts): it is overwritten by a record
  saved as new.

  KEYS[1]  the record: hash of rev, json, inv             ({prefix}:{<did>}:review:<id>)
  KEYS[2]  the subject's records: zset id → openedAt      ({prefix}:{<did>}:reviews)
  ARGV[1]  expected revision ("" = there must be no record yet)
  ARGV[2]  the new revision (expected + 1, or 1)
  ARGV[3]  the record as JSON (stored as given, never re-encoded)
  ARGV[4]  retention, ms
  ARGV[5]  record id (`<did>.…`: its first 26 characters are the subject's ID)
  ARGV[6]  openedAt (epoch ms)
  ARGV[7]  the other IDs involved, as a JSON array of strings

  Output   { 1, involved }   saved; `involved` is the previous record's list ("" when none)
           { 0 }             conflict: the stored revision is not the expected one; nothing written
]]
local TYPES = { appeal = true, case = true, evidence = true, evasion = true, ban = true }

-- A digital ID: 26 characters of a-z and 2-7.
local function isDid(value)
  return type(value) == "string" and #value == 26 and string.match(value, "^[a-z2-7]+$") ~= nil
end

-- What a suspected evasion has besides the common fields: its link (an object with fields,
-- not a list: cjson decodes both to tables), the banned ID, the ban's id.
local function evasionReadable(value)
  local link = value["link"]
  return type(link) == "table" and next(link) ~= nil and link[1] == nil and isDid(value["bannedDid"])
    and type(value["banSanctionId"]) == "string"
end

-- The stored revision, or nil when there is no record the warden could read.
local function storedRev(rev, json)
  rev = tonumber(rev)
  if not rev or not json then return nil end
  local ok, value = pcall(cjson.decode, json)
  if not ok or type(value) ~= "table" then return nil end
  local opened = value["openedAt"]
  if value["id"] ~= ARGV[5] or value["did"] ~= string.sub(ARGV[5], 1, 26) then return nil end
  if not TYPES[value["type"]] or type(value["state"]) ~= "string" then return nil end
  if value["rev"] ~= rev or rev < 1 or rev % 1 ~= 0 then return nil end
  if type(opened) ~= "number" or opened < 0 or opened % 1 ~= 0 then return nil end
  if value["type"] == "evasion" and not evasionReadable(value) then return nil end
  return rev
end

local stored = redis.call("HMGET", KEYS[1], "rev", "json", "inv")
local rev = storedRev(stored[1], stored[2])
if ARGV[1] == "" then
  if rev then return { 0 } end
elseif rev == nil or rev ~= tonumber(ARGV[1]) then
  return { 0 }
end

local keep = tonumber(ARGV[4])
-- A record the warden could not read leaves no field behind.
if rev == nil then redis.call("DEL", KEYS[1]) end
redis.call("HSET", KEYS[1], "rev", ARGV[2], "json", ARGV[3], "inv", ARGV[7])
redis.call("PEXPIRE", KEYS[1], keep)
redis.call("ZADD", KEYS[2], ARGV[6], ARGV[5])
-- The index lives as long as its longest-kept record (ids of expired ones are pruned when read).
local ttl = redis.call("PTTL", KEYS[2])
if ttl < keep then redis.call("PEXPIRE", KEYS[2], keep) end
return { 1, stored[3] or "" }
