package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
)

// Event is one server-sent event. The gateway sends a call's output as
// unnamed events (Name ""), then "usage" ({plugin, usage, payment,
// timestamp}); an agent's run sends events named after their type
// ("run.started", "message.delta", "run.finished", …).
//
// A response that is not a stream (a call with "stream": true to an id that
// does not stream is answered with JSON) arrives as one event named
// "response" holding the whole body.
type Event struct {
	Name string
	Data json.RawMessage
}

// Stream reads server-sent events as they arrive. Use it like a
// bufio.Scanner (Next, Event, Err), or with Events or Each; Close it when
// done early. Keepalive comments are skipped. The gateway's "[DONE]" ends the
// stream; an "error" event ends it with an *Error (Status 0) from Err.
type Stream struct {
	// Header is the response's header (X-Request-Id, X-Plugin-Id,
	// Payment-Receipt, …).
	Header http.Header

	body   io.ReadCloser
	rd     *bufio.Reader
	single []byte // a JSON response, handed over as one "response" event
	ev     Event
	err    error
	done   bool
}

func newStream(resp *http.Response) (*Stream, error) {
	s := &Stream{Header: resp.Header, body: resp.Body}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		s.rd = bufio.NewReaderSize(resp.Body, 64<<10)
		return s, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	if len(b) > MaxResponseBytes || !json.Valid(b) {
		return nil, fmt.Errorf("the response is neither an event stream nor JSON (%s)", resp.Header.Get("Content-Type"))
	}
	s.single = b
	return s, nil
}

// Next reads the next event, blocking until it arrives. It returns false at
// the end of the stream or on failure (see Err).
func (s *Stream) Next() bool {
	if s.done {
		return false
	}
	if s.rd == nil { // a JSON response: one event, then the end
		if s.single == nil {
			s.finish(nil)
			return false
		}
		s.ev, s.single = Event{Name: "response", Data: s.single}, nil
		return true
	}
	ev, err := s.read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = nil
		}
		s.finish(err)
		return false
	}
	if ev.Name == "" && bytes.Equal(ev.Data, []byte("[DONE]")) {
		s.finish(nil)
		return false
	}
	if ev.Name == "error" {
		e := &Error{}
		var body map[string]any
		if json.Unmarshal(ev.Data, &body) == nil && body != nil {
			fillError(e, body)
		} else {
			e.Message = string(ev.Data)
		}
		s.finish(e)
		return false
	}
	s.ev = ev
	return true
}

// Event returns the event Next read.
func (s *Stream) Event() Event { return s.ev }

// Err returns the failure that ended the stream: nil at its normal end.
func (s *Stream) Err() error { return s.err }

// Close ends the stream early, closing the connection.
func (s *Stream) Close() error {
	s.finish(nil)
	return nil
}

func (s *Stream) finish(err error) {
	if s.err == nil {
		s.err = err
	}
	if !s.done {
		s.done = true
		_ = s.body.Close()
	}
}

// Events iterates over the stream's events as they arrive; a failure is
// yielded once as the last pair. Breaking out of the loop closes the stream.
func (s *Stream) Events() iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		defer s.Close()
		for s.Next() {
			if !yield(s.Event(), nil) {
				return
			}
		}
		if err := s.Err(); err != nil {
			yield(Event{}, err)
		}
	}
}

// Each calls fn with every event as it arrives, stopping at fn's first error
// (returned as is), and closes the stream.
func (s *Stream) Each(fn func(Event) error) error {
	defer s.Close()
	for s.Next() {
		if err := fn(s.Event()); err != nil {
			return err
		}
	}
	return s.Err()
}

// read parses one event (text/event-stream): "event:" and "data:" lines
// (several data lines join with "\n"), comments and unknown fields skipped,
// a blank line ending the event. An event with no data is skipped.
func (s *Stream) read() (Event, error) {
	var (
		ev      Event
		data    []byte
		hasData bool
		size    int
	)
	for {
		line, err := s.line()
		if err != nil {
			if errors.Is(err, io.EOF) && hasData {
				ev.Data = data
				return ev, nil
			}
			return Event{}, err
		}
		size += len(line)
		if size > MaxEventBytes {
			return Event{}, fmt.Errorf("an event exceeds %d bytes", MaxEventBytes)
		}
		if len(line) == 0 {
			if hasData {
				ev.Data = data
				return ev, nil
			}
			ev = Event{}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.Name = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		}
	}
}

// line reads one line without its end (\n or \r\n), bounded by
// MaxEventBytes.
func (s *Stream) line() ([]byte, error) {
	var out []byte
	for {
		frag, err := s.rd.ReadSlice('\n')
		out = append(out, frag...)
		if len(out) > MaxEventBytes {
			return nil, fmt.Errorf("an event exceeds %d bytes", MaxEventBytes)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if len(out) > 0 && errors.Is(err, io.EOF) {
				return bytes.TrimRight(out, "\r\n"), nil
			}
			return nil, err
		}
		return bytes.TrimRight(out, "\r\n"), nil
	}
}
