// Package logbuf buffers a process's log output, so that a request's access
// line costs a copy into memory rather than a write system call.
//
// Lines are written out in the order they were logged: when the buffer holds
// Size bytes, when Interval has passed since the oldest unwritten line, on
// Flush, and on Close. A Handler wrapped with Urgent writes out at once after
// each record at or above a level (warnings and errors are not held back), so
// what a crash leaves unwritten is at most Interval of info and debug lines.
// RATIONALE.md ("Buffered logs") has the measurements behind this.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Defaults for New.
const (
	DefaultInterval = 100 * time.Millisecond
	DefaultSize     = 64 << 10
)

// Writer is an io.Writer that holds what is written to it until a flush.
// It is safe for concurrent use. Each Write is kept whole: a log line is
// never split between two writes to the underlying writer unless it alone
// is larger than the buffer.
type Writer struct {
	w        io.Writer
	interval time.Duration
	size     int

	mu     sync.Mutex // guards buf, spare, timer, closed and err
	buf    []byte
	spare  []byte      // the buffer last written out, reused for the next
	timer  *time.Timer // armed while buf holds lines
	closed bool
	err    error // the underlying writer's first error, reported by Flush and Close

	out sync.Mutex // serialises writes to w, so lines keep their order
}

// New returns a Writer in front of w that writes out at least every interval
// and whenever size bytes are held. interval <= 0 or size <= 0 take the
// defaults.
func New(w io.Writer, interval time.Duration, size int) *Writer {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if size <= 0 {
		size = DefaultSize
	}
	return &Writer{w: w, interval: interval, size: size, buf: make([]byte, 0, size)}
}

// Write holds p for a later write to the underlying writer. When the buffer
// is full, the caller writes it out itself: a burst of logging slows down
// the goroutines logging rather than growing memory without bound. After
// Close, Write goes straight to the underlying writer.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.out.Lock()
		defer b.out.Unlock()
		return b.w.Write(p)
	}
	for len(b.buf) > 0 && len(b.buf)+len(p) > b.size { // others may log while it is written out
		b.flushLocked()
	}
	if len(p) >= b.size { // too large to hold: out now, in order
		b.out.Lock()
		b.mu.Unlock()
		defer b.out.Unlock()
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	if b.timer == nil {
		b.timer = time.AfterFunc(b.interval, b.tick)
	} else if len(b.buf) == len(p) {
		b.timer.Reset(b.interval)
	}
	b.mu.Unlock()
	return len(p), nil
}

// tick is the timer's: it writes out what has waited Interval.
func (b *Writer) tick() {
	b.mu.Lock()
	b.flushLocked()
	b.mu.Unlock()
}

// flushLocked writes the buffer out. Called with mu held; it hands the bytes
// to the underlying writer under out, after taking a fresh buffer, so that
// other goroutines can log while a slow writer (a full pipe) drains.
func (b *Writer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	data := b.buf
	if b.buf = b.spare; b.buf == nil {
		b.buf = make([]byte, 0, b.size)
	}
	b.spare = nil
	b.out.Lock()
	b.mu.Unlock()
	_, err := b.w.Write(data)
	b.out.Unlock()
	b.mu.Lock()
	b.spare = data[:0]
	if err != nil && b.err == nil {
		b.err = err
	}
}

// Flush writes out everything held. It returns the underlying writer's first
// error since the Writer was made, if any.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	return b.err
}

// Close writes out everything held and stops buffering: later writes go
// straight through, so lines logged during shutdown are not lost.
func (b *Writer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
	}
	return b.err
}

// Urgent wraps h so that every record at or above level is written out as
// soon as it is logged, with everything held before it.
func Urgent(h slog.Handler, w *Writer, level slog.Leveler) slog.Handler {
	return urgent{Handler: h, w: w, level: level}
}

type urgent struct {
	slog.Handler
	w     *Writer
	level slog.Leveler
}

func (u urgent) Handle(ctx context.Context, r slog.Record) error {
	err := u.Handler.Handle(ctx, r)
	if r.Level >= u.level.Level() {
		if ferr := u.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (u urgent) WithAttrs(as []slog.Attr) slog.Handler {
	return urgent{Handler: u.Handler.WithAttrs(as), w: u.w, level: u.level}
}

func (u urgent) WithGroup(name string) slog.Handler {
	return urgent{Handler: u.Handler.WithGroup(name), w: u.w, level: u.level}
}
