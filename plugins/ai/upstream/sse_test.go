package upstream

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func readEvents(r io.Reader) ([]sseEvent, error) {
	sr := newSSEReader(r)
	var evs []sseEvent
	for {
		ev, err := sr.Next()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestSSEReader(t *testing.T) {
	errBoom := errors.New("boom")
	atCap := strings.Repeat("a", maxSSELine-len("data: "))
	tests := []struct {
		name    string
		in      io.Reader
		want    []sseEvent
		wantErr error
	}{
		{"data with space", strings.NewReader("data: hello\n\n"), []sseEvent{{Data: "hello"}}, nil},
		{"data without space", strings.NewReader("data:hello\n\n"), []sseEvent{{Data: "hello"}}, nil},
		{"only one space removed", strings.NewReader("data:  hello\n\n"), []sseEvent{{Data: " hello"}}, nil},
		{"colon in value", strings.NewReader(`data: {"a":"b:c"}` + "\n\n"), []sseEvent{{Data: `{"a":"b:c"}`}}, nil},
		{"multi-line data", strings.NewReader("data: a\ndata: b\ndata:\n\n"), []sseEvent{{Data: "a\nb\n"}}, nil},
		{"two events", strings.NewReader("data: 1\n\ndata: 2\n\n"), []sseEvent{{Data: "1"}, {Data: "2"}}, nil},
		{"comments", strings.NewReader(": keepalive\n\n:\ndata: x\n: inside\n\n"), []sseEvent{{Data: "x"}}, nil},
		{"event names reset per event", strings.NewReader("event: message_start\ndata: {}\n\ndata: 2\n\n"),
			[]sseEvent{{Name: "message_start", Data: "{}"}, {Data: "2"}}, nil},
		{"event without data not dispatched", strings.NewReader("event: ping\n\ndata: x\n\n"), []sseEvent{{Data: "x"}}, nil},
		{"empty data dispatched", strings.NewReader("data\n\ndata:\n\n"), []sseEvent{{}, {}}, nil},
		{"DONE passed through", strings.NewReader("data: [DONE]\n\n"), []sseEvent{{Data: "[DONE]"}}, nil},
		{"CRLF", strings.NewReader("event: e\r\ndata: a\r\n\r\ndata: b\r\n\r\n"), []sseEvent{{Name: "e", Data: "a"}, {Data: "b"}}, nil},
		{"CR", strings.NewReader("data: a\r\rdata: b\r\r"), []sseEvent{{Data: "a"}, {Data: "b"}}, nil},
		{"mixed endings", strings.NewReader("data: a\r\ndata: b\rdata: c\n\r\n"), []sseEvent{{Data: "a\nb\nc"}}, nil},
		{"id persists", strings.NewReader("id: 7\ndata: x\n\ndata: y\n\n"), []sseEvent{{Data: "x", ID: "7"}, {Data: "y", ID: "7"}}, nil},
		{"unknown fields ignored", strings.NewReader("retry: 100\nfoo: bar\ndata: x\n\n"), []sseEvent{{Data: "x"}}, nil},
		{"BOM", strings.NewReader("\uFEFFdata: x\n\n"), []sseEvent{{Data: "x"}}, nil},
		{"no final blank line", strings.NewReader("data: a\n\ndata: b\n"), []sseEvent{{Data: "a"}, {Data: "b"}}, nil},
		{"cut mid-line", strings.NewReader("data: a\n\ndata: b"), []sseEvent{{Data: "a"}}, nil},
		{"empty stream", strings.NewReader(""), nil, nil},
		{"line at cap", strings.NewReader("data: " + atCap + "\r\n\r\n"), []sseEvent{{Data: atCap}}, nil},
		{"line over cap", strings.NewReader("data: " + atCap + "a\n\n"), nil, errSSELineTooLong},
		{"reader error", io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(errBoom)), []sseEvent{{Data: "a"}}, errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := io.ReadAll(tt.in)
			if err != nil && !errors.Is(err, errBoom) {
				t.Fatal(err)
			}
			// Byte-at-a-time reading puts every line ending at a buffer boundary.
			for _, r := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", readerWithErr(string(in), err)},
				{"one byte", iotest.OneByteReader(readerWithErr(string(in), err))},
			} {
				got, gotErr := readEvents(r.r)
				if !reflect.DeepEqual(got, tt.want) || !errors.Is(gotErr, tt.wantErr) {
					t.Errorf("%s: Next(%.60q) = %+v, %v; want %+v, %v", r.name, in, got, gotErr, tt.want, tt.wantErr)
				}
			}
		})
	}
}

func readerWithErr(s string, err error) io.Reader {
	if err == nil {
		return strings.NewReader(s)
	}
	return io.MultiReader(strings.NewReader(s), iotest.ErrReader(err))
}

// TestSSEReaderReturnsEarly checks that an event is returned as soon as its blank line arrives, without waiting
// for more of the stream.
func TestSSEReaderReturnsEarly(t *testing.T) {
	tests := []struct {
		in   string
		want sseEvent
	}{
		{"data: a\n\n", sseEvent{Data: "a"}},
		{"data: a\r\n\r\n", sseEvent{Data: "a"}},
		{"data: a\r\r", sseEvent{Data: "a"}},
	}
	for _, tt := range tests {
		pr, pw := io.Pipe()
		go pw.Write([]byte(tt.in)) // the stream then stays open
		got := make(chan sseEvent, 1)
		go func() {
			ev, _ := newSSEReader(pr).Next()
			got <- ev
		}()
		select {
		case ev := <-got:
			if ev != tt.want {
				t.Errorf("Next(%q) = %+v; want %+v", tt.in, ev, tt.want)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Next(%q) did not return while the stream stayed open", tt.in)
		}
		pw.Close()
	}
}
