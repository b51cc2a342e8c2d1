-- The seed's inventory transaction. KEYS: inventory, orders.
-- ARGV: sku, userId, quantity. Reads the item, inserts the order, checks
-- the quantity and updates the stock; an error aborts all of it.
local item = redis.call('B.GET', KEYS[1], ARGV[1])
if not item then
  return redis.error_reply('NOTFOUND no item ' .. ARGV[1])
end
item = cjson.decode(item)
local want = tonumber(ARGV[3])
local order = redis.call('B.INSERT', KEYS[2],
  cjson.encode({sku = ARGV[1], userId = ARGV[2], qty = want}))
if item.qty < want then
  error('only ' .. item.qty .. ' ' .. ARGV[1] .. ' left') -- the order above is rolled back
end
redis.call('B.UPDATE', KEYS[1], ARGV[1], cjson.encode({qty = item.qty - want}))
return order
