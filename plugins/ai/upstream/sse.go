package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// maxSSELine caps one line of an event stream; a chunk of a chat completion is a few hundred bytes.
const maxSSELine = 1 << 20

var errSSELineTooLong = errors.New("event stream line longer than 1 MiB")

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	Name string // the event: field; empty when the server sent none (the spec's "message")
	Data string // the data: lines joined with "\n"
	ID   string // the last event ID seen so far
}

// sseReader parses a text/event-stream as the HTML Living Standard describes it: LF, CRLF or CR line endings,
// "field:value" with one optional space after the colon, comment lines starting with a colon, multi-line data,
// and an empty line dispatching the event. It reads line by line, so each event is returned as soon as its
// blank line has arrived.
//
// One deviation: the spec discards an event that is still open when the stream ends. Some servers close the
// stream without the final blank line, so such an event is dispatched if its last line was complete; a stream
// cut mid-line still loses the partial event.
type sseReader struct {
	sc     *bufio.Scanner
	lines  lineSplitter
	lastID string
	begun  bool
}

func newSSEReader(r io.Reader) *sseReader {
	sr := &sseReader{sc: bufio.NewScanner(r)}
	sr.sc.Buffer(make([]byte, 0, 4096), maxSSELine+2) // room for the line and a CRLF
	sr.sc.Split(sr.lines.split)
	return sr
}

// Next returns the next event, io.EOF at the end of the stream, or the underlying reader's error.
func (r *sseReader) Next() (sseEvent, error) {
	var (
		name    string
		data    strings.Builder
		hasData bool
	)
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if !r.begun {
			r.begun = true
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		}
		if len(line) == 0 {
			if hasData {
				return sseEvent{Name: name, Data: data.String(), ID: r.lastID}, nil
			}
			name = "" // an event without data is not dispatched, and its name is forgotten
			continue
		}
		if line[0] == ':' {
			continue // comment, e.g. ": keepalive" or OpenRouter's ": OPENROUTER PROCESSING"
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "event":
			name = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				r.lastID = string(value)
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sseEvent{}, errSSELineTooLong
		}
		return sseEvent{}, err
	}
	if hasData && r.lines.terminated {
		return sseEvent{Name: name, Data: data.String(), ID: r.lastID}, nil
	}
	return sseEvent{}, io.EOF
}

// lineSplitter is a bufio.SplitFunc for LF, CRLF and lone CR line endings. A CR that ends the data read so far
// ends the line at once, rather than waiting to see whether an LF follows; the LF, if it comes, is skipped.
type lineSplitter struct {
	skipLF     bool // the previous line ended with a CR at the end of the buffer
	terminated bool // the last line returned had a line ending
}

func (s *lineSplitter) split(data []byte, atEOF bool) (int, []byte, error) {
	if s.skipLF && len(data) > 0 {
		s.skipLF = false
		if data[0] == '\n' {
			return 1, nil, nil
		}
	}
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		s.terminated = true
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		}
		s.skipLF = true
		return i + 1, data[:i], nil
	}
	if atEOF {
		s.terminated = false
		return len(data), data, nil
	}
	return 0, nil, nil
}
