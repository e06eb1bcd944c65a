package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Client is an HTTP/1.1 client for measuring a server's latency: a call
// writes its request and reads the answer on the calling goroutine, over a
// kept-alive connection taken from its idle list (a new one when none is
// idle). It is safe for concurrent use.
//
// net/http's Transport hands every request to a writer goroutine and every
// answer back from a reader goroutine. On a virtual machine each of those
// hand-offs waits tens of microseconds for the woken goroutine to run, so a
// latency measured through it is partly the instrument's. Client has no
// goroutines: what it measures is the network and the server (RATIONALE.md,
// "Performance: where the gateway stands").
type Client struct {
	host   string // host:port
	header []byte // "Host: …\r\n" and the fixed headers, serialised once
	idle   chan *clientConn
}

type clientConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// MaxIdle bounds the connections a Client keeps open between calls.
const MaxIdle = 1024

// NewClient returns a Client for the server at base (http://host:port; a
// path is ignored), sending header with every request.
func NewClient(base string, header http.Header) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("load: %q is not http://host:port", base)
	}
	b := []byte("Host: " + u.Host + "\r\n")
	for k, vs := range header {
		for _, v := range vs {
			b = append(b, http.CanonicalHeaderKey(k)+": "+v+"\r\n"...)
		}
	}
	return &Client{host: u.Host, header: b, idle: make(chan *clientConn, MaxIdle)}, nil
}

// Do sends method path with body (none if nil) and reads the whole answer,
// returning its status. A connection that fails, or that the server closes,
// is not reused.
func (c *Client) Do(ctx context.Context, method, path string, body []byte) (int, error) {
	var cc *clientConn
	select {
	case cc = <-c.idle:
	default:
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.host)
		if err != nil {
			return 0, err
		}
		cc = &clientConn{c: conn, br: bufio.NewReader(conn), bw: bufio.NewWriter(conn)}
	}
	status, keep, err := cc.roundTrip(ctx, method, path, c.header, body)
	if err != nil || !keep {
		cc.c.Close()
		return status, err
	}
	select {
	case c.idle <- cc:
	default:
		cc.c.Close()
	}
	return status, nil
}

// Close closes the idle connections.
func (c *Client) Close() {
	for {
		select {
		case cc := <-c.idle:
			cc.c.Close()
		default:
			return
		}
	}
}

func (cc *clientConn) roundTrip(ctx context.Context, method, path string, header, body []byte) (status int, keep bool, err error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	if err := cc.c.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	w := cc.bw
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\n")
	w.Write(header)
	if body != nil {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
		w.WriteString("\r\n\r\n")
		w.Write(body)
	} else {
		w.WriteString("\r\n")
	}
	if err := w.Flush(); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(cc.br, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, false, err
	}
	if resp.Close || cc.br.Buffered() > 0 {
		return resp.StatusCode, false, nil // closed, or more bytes than one answer: do not reuse
	}
	return resp.StatusCode, true, nil
}

// ErrStatus is returned by Expect for an answer with another status.
var ErrStatus = errors.New("load: unexpected status")

// Expect wraps Do for load.Run: a call that does not answer want is an error.
func (c *Client) Expect(want int, method, path string, body []byte) func(context.Context) error {
	return func(ctx context.Context) error {
		status, err := c.Do(ctx, method, path, body)
		if err != nil {
			return err
		}
		if status != want {
			return fmt.Errorf("%w: %s %s = %d, want %d", ErrStatus, method, path, status, want)
		}
		return nil
	}
}
