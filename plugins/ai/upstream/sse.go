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
// and an empty line dispatching the event. It returns each event as soon as its blank line has arrived.
//
// One deviation: the spec discards an event that is still open when the stream ends. Some servers close the
// stream without the final blank line, so such an event is dispatched if its last line was complete; a stream
// cut mid-line still loses the partial event.
type sseReader struct {
	lines  lineReader
	lastID string
	begun  bool
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{lines: lineReader{r: bufio.NewReaderSize(r, 64<<10)}}
}

// Next returns the next event, io.EOF at the end of the stream, or the underlying reader's error.
func (r *sseReader) Next() (sseEvent, error) {
	var (
		name    string
		data    strings.Builder
		hasData bool
	)
	for {
		line, terminated, err := r.lines.next()
		if errors.Is(err, io.EOF) {
			if hasData && terminated {
				return sseEvent{Name: name, Data: data.String(), ID: r.lastID}, nil
			}
			return sseEvent{}, io.EOF
		}
		if err != nil {
			return sseEvent{}, err
		}
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
}

// lineReader splits a stream at LF, CRLF and lone CR, scanning each byte once. A CR ends its line at once,
// without waiting to see whether an LF follows; an LF that does follow is skipped.
type lineReader struct {
	r      *bufio.Reader
	line   []byte // reused; valid until the next call
	skipLF bool
	eof    bool // the last line was unterminated; next reports io.EOF
}

// next returns the next line without its ending. At the end of the stream it returns io.EOF, with terminated
// reporting whether the stream's last line had an ending.
func (l *lineReader) next() (line []byte, terminated bool, err error) {
	if l.eof {
		return nil, false, io.EOF
	}
	l.line = l.line[:0]
	if l.skipLF {
		l.skipLF = false
		if b, err := l.r.Peek(1); err == nil && b[0] == '\n' {
			l.r.Discard(1)
		}
	}
	for {
		buf, err := l.r.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) && len(l.line) > 0 {
				l.eof = true
				return l.line, false, nil
			}
			return nil, true, err
		}
		buf, _ = l.r.Peek(l.r.Buffered())
		i := bytes.IndexAny(buf, "\r\n")
		n := i
		if i < 0 {
			n = len(buf)
		}
		if len(l.line)+n > maxSSELine {
			return nil, false, errSSELineTooLong
		}
		l.line = append(l.line, buf[:n]...)
		if i < 0 {
			l.r.Discard(n)
			continue
		}
		advance := i + 1
		if buf[i] == '\r' {
			switch {
			case i+1 == len(buf):
				l.skipLF = true // the LF, if any, has not arrived yet
			case buf[i+1] == '\n':
				advance++
			}
		}
		l.r.Discard(advance)
		return l.line, true, nil
	}
}
