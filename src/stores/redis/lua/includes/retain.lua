--[[
  retain(key, retentionMs): recomputes the expiry of one ID's sanctions hash.

  Fields `<sanctionId>` hold a sanction as JSON; fields `<sanctionId>:r` hold its revocation.
  The hash lives while any permanent sanction is unrevoked (PERSIST); otherwise until the
  latest end or revocation time plus retentionMs (PEXPIREAT). Nothing is kept forever.
]]
local function retain(key, retentionMs)
  local all = redis.call("HGETALL", key)
  local revokedAt = {}
  for i = 1, #all, 2 do
    local field = all[i]
    if string.sub(field, -2) == ":r" then
      revokedAt[string.sub(field, 1, -3)] = cjson.decode(all[i + 1])["at"]
    end
  end
  local latest = 0
  for i = 1, #all, 2 do
    local field = all[i]
    if string.sub(field, -2) ~= ":r" then
      local over = revokedAt[field]
      if over == nil then
        local sanction = cjson.decode(all[i + 1])
        if sanction["end"] == cjson.null then
          redis.call("PERSIST", key)
          return
        end
        over = sanction["end"]
      end
      if over > latest then latest = over end
    end
  end
  redis.call("PEXPIREAT", key, string.format("%d", latest + retentionMs))
end
