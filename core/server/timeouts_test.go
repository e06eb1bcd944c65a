package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/server/servertest"
)

// A client that sends its headers and then trickles (or stops sending) its
// body must not hold a connection and a goroutine forever: the whole request
// has to arrive within AGENTBOT_READ_TIMEOUT.
func TestSlowRequestBodyIsCutOff(t *testing.T) {
	env := servertest.New(t, "sqlite", map[string]string{"AGENTBOT_READ_TIMEOUT": "1s"})
	u, _ := url.Parse(env.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /api/register HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"email\":")
	if err != nil {
		t.Fatal(err)
	}
	// Wide margin: the server gives up after 1 s; without a read timeout it
	// would wait for the body forever.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("stalled body answered %d; want a 4xx", resp.StatusCode)
		}
		_, err = conn.Read(make([]byte, 1))
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still held the stalled connection after 20s (read timeout 1s)")
	}
}
