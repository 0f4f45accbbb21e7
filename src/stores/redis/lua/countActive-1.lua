--[[
  Counts the lasting sanctions in force by kind, dropping the ones that ended.

  KEYS[1]  sanctions in force: zset `<kind>|<sanctionId>` → end (+inf = permanent)   ({prefix}:{stats}:active)
  ARGV[1]  now (epoch ms): a sanction whose end is at or before now has ended
  ARGV[2]  most kinds counted (members of further kinds are junk: not counted)

  Output   { kind, count, kind, count, … }
]]
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
local most = tonumber(ARGV[2])
local counts, kinds = {}, {}
local page, start = 1000, 0
while true do
  local members = redis.call("ZRANGE", KEYS[1], start, start + page - 1)
  for _, member in ipairs(members) do
    local kind = string.match(member, "^([^|]+)|")
    if kind then
      if counts[kind] then
        counts[kind] = counts[kind] + 1
      elseif #kinds < most then
        kinds[#kinds + 1] = kind
        counts[kind] = 1
      end
    end
  end
  if #members < page then break end
  start = start + page
end
local out = {}
for _, kind in ipairs(kinds) do
  out[#out + 1] = kind
  out[#out + 1] = counts[kind]
end
return out
