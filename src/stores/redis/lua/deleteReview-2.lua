--[[
  Deletes a review record and takes it off its subject's list. The review queues and the
  `involved` indexes of other IDs live in other slots: the caller updates them with the
  involved list this script answers.

  KEYS[1]  the record: hash of rev, json, inv             ({prefix}:{<did>}:review:<id>)
  KEYS[2]  the subject's records: zset id → openedAt      ({prefix}:{<did>}:reviews)
  ARGV[1]  record id

  Output   the deleted record's involved IDs as stored (JSON array), or "" when there was none
]]
local involved = redis.call("HGET", KEYS[1], "inv")
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], ARGV[1])
return involved or ""
