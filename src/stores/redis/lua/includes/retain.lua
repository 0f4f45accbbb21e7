--[[
  retain(key, retentionMs): recomputes the expiry of one ID's sanctions hash.

  Fields `<sanctionId>` hold a sanction as JSON; fields `<sanctionId>:r` hold its revocation.
  The hash lives while any permanent sanction is unrevoked (PERSIST); otherwise until the
  latest end or revocation time plus retentionMs (PEXPIREAT). Nothing is kept forever.

  A record it cannot read (not JSON, not an object, a time that is no number or is past
  JavaScript's date range — written by someone with Redis access) is passed over: it must
  not stop every later sanction of the ID from being stored. The warden skips such records
  when it reads them too.
]]
local MAX_INSTANT = 8640000000000000
local function readable(json)
  local ok, value = pcall(cjson.decode, json)
  if ok and type(value) == "table" then return value end
  return nil
end
local function instant(value)
  if type(value) == "number" and value >= 0 and value < MAX_INSTANT then return value end
  return nil
end
local function retain(key, retentionMs)
  local all = redis.call("HGETALL", key)
  local revokedAt = {}
  for i = 1, #all, 2 do
    local field = all[i]
    if string.sub(field, -2) == ":r" then
      local revocation = readable(all[i + 1])
      if revocation then revokedAt[string.sub(field, 1, -3)] = instant(revocation["at"]) end
    end
  end
  local latest = 0
  for i = 1, #all, 2 do
    local field = all[i]
    if string.sub(field, -2) ~= ":r" then
      local over = revokedAt[field]
      if over == nil then
        local sanction = readable(all[i + 1])
        if sanction then
          if sanction["end"] == cjson.null then
            redis.call("PERSIST", key)
            return
          end
          over = instant(sanction["end"])
        end
      end
      if over and over > latest then latest = over end
    end
  end
  redis.call("PEXPIREAT", key, string.format("%d", latest + retentionMs))
end
