package live

import "strconv"

// appendMessage appends a pub/sub `message` frame carrying payload on
// channel, in protocol proto: a RESP2 array or a RESP3 push, byte for byte
// what pubsub.Hub.Publish sends. The manager uses it to give one new
// subscriber the current result without publishing it to the others.
func appendMessage(dst []byte, proto int, channel string, payload []byte) []byte {
	if proto >= 3 {
		dst = append(dst, ">3\r\n"...)
	} else {
		dst = append(dst, "*3\r\n"...)
	}
	dst = append(dst, "$7\r\nmessage\r\n"...)
	dst = appendBulk(dst, channel)
	return appendBulk(dst, string(payload))
}

func appendBulk(dst []byte, s string) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}
