-- userOrders(userId): a user with their orders, from two buckets.
local user = redis.call('B.GET', 'users', params.userId)
local orders = {}
for i, r in ipairs(redis.call('B.WHERE', 'orders', cjson.encode({userId = params.userId}))) do
  orders[i] = cjson.decode(r)
end
return {user = user and cjson.decode(user) or cjson.null, orders = orders}
