-- The chat dashboard: every room with its number of messages. It reads every
-- room and, per room, the count of its messages, so a new message runs it
-- again only through the count of its own room.
local rooms = {}
for _, r in ipairs(redis.call('B.ALL', 'chat_rooms')) do
  local room = cjson.decode(r)
  rooms[#rooms + 1] = {
    id = room.id,
    name = room.name,
    messages = redis.call('B.COUNT', 'chat_messages', cjson.encode({roomId = room.id})),
  }
end
return rooms
