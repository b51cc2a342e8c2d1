-- roleCounts as a function: the number of users per role, from every user.
local counts = {}
for _, r in ipairs(redis.call('B.ALL', 'users')) do
  local role = cjson.decode(r).role
  counts[role] = (counts[role] or 0) + 1
end
return counts
