#!lua name=chat
-- send_message(keys = {users, rooms, messages}, args = {userId, roomId, text})
-- posts a message after checking that its author and its room exist: one
-- round trip, and one transaction holding the three buckets while it runs.
redis.register_function('send_message', function(keys, args)
  local users, rooms, messages = keys[1], keys[2], keys[3]
  local user, room, text = args[1], args[2], args[3]
  if not redis.call('B.GET', users, user) then
    return redis.error_reply('NOTFOUND user "' .. user .. '" does not exist')
  end
  if not redis.call('B.GET', rooms, room) then
    return redis.error_reply('NOTFOUND room "' .. room .. '" does not exist')
  end
  return redis.call('B.INSERT', messages, cjson.encode({roomId = room, userId = user, text = text}))
end)
