package api

import (
	"net/http"
	"time"
)

// StreamWriteIdle is the longest one chunk of a streaming response may take to
// reach the client; a client that stops reading for longer is cut off.
const StreamWriteIdle = 60 * time.Second

// StreamDeadline exempts a streaming response from the server's whole-request
// deadlines: the read deadline is lifted (a stream may outlive ReadTimeout
// without its request being cancelled) and the write deadline moves to
// StreamWriteIdle from now. Streams call it with every chunk they flush.
func StreamDeadline(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Now().Add(StreamWriteIdle))
}
