package cloudtrail

import (
	"bytes"
	"io"
)

// source is the input as the decoder reads it: held whole (DecodeBytes),
// or a window sliding over a stream (DecodeStream) that holds about the
// largest value being read. Offsets are the input's.
type source struct {
	buf  []byte    // the input from offset base on
	base int       // offset of buf[0]
	r    io.Reader // the rest of a stream; nil once it is read or failed
	err  error     // why the stream stopped before its end
	// Newlines before base, and a line cursor, so that naming the line of
	// an error does not count from the start each time.
	lines, lineOff, lineNo int
	noLines                bool // a copy, whose lines say nothing
}

// window is the size of a stream's first buffer; it doubles for larger
// values.
const window = 64 << 10

// wholeSource holds an input read whole.
func wholeSource(data []byte) source { return source{buf: data} }

// streamSource reads r as it comes, size bytes at first.
func streamSource(r io.Reader, size int) source {
	return source{buf: make([]byte, 0, max(size, 1)), r: r}
}

// load returns the input from offset from on, holding at least to offset
// to when the input goes that far, reading more if need be. Bytes before
// from may be let go: from must never go back. The bytes are valid until
// the next load or fill.
func (s *source) load(from, to int) []byte {
	if s.r != nil && s.base+len(s.buf) < to {
		s.fill(from, to)
	}
	return s.buf[from-s.base:]
}

// more reports whether the input goes past what it holds.
func (s *source) more() bool { return s.r != nil }

// fill reads on until the stream is held to offset to, or ends, keeping
// the bytes from offset from on.
func (s *source) fill(from, to int) {
	keep := s.buf[from-s.base:]
	s.lines += bytes.Count(s.buf[:from-s.base], []byte("\n"))
	if need := to - from; need > cap(s.buf) {
		grown := make([]byte, len(keep), max(need, 2*cap(s.buf)))
		copy(grown, keep)
		s.buf = grown
	} else {
		s.buf = s.buf[:copy(s.buf[:cap(s.buf)], keep)]
	}
	s.base = from
	for empty := 0; s.base+len(s.buf) < to; {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if n == 0 && err == nil {
			if empty++; empty < 100 {
				continue
			}
			err = io.ErrNoProgress
		}
		if err != nil {
			if err != io.EOF {
				s.err = err
			}
			s.r = nil
			return
		}
	}
}

// line is the line at offset off, counting from 1; 0 when unknown.
func (s *source) line(off int) int {
	if s.noLines || off < s.base || off > s.base+len(s.buf) {
		return 0
	}
	if s.lineOff < s.base || s.lineOff > off {
		s.lineOff, s.lineNo = s.base, s.lines
	}
	s.lineNo += bytes.Count(s.buf[s.lineOff-s.base:off-s.base], []byte("\n"))
	s.lineOff = off
	return 1 + s.lineNo
}
