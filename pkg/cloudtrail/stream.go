package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// DecodeStream is Decode for inputs too large to hold whole, read as they
// come (already gunzipped): a log file's records one at a time, JSON Lines
// one line at a time. Memory stays at about the largest record. Unlike
// Decode, it cannot find its way again after broken JSON: the error names
// the record, and the rest of the input is not read. keep is as for
// DecodeBytes.
func DecodeStream(r io.Reader, keep func(record []byte) bool) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		d := decoder{yield: yield, keep: keep}
		br := bufio.NewReaderSize(r, 64<<10)
		if head, _ := br.Peek(3); bytes.Equal(head, []byte("\xef\xbb\xbf")) {
			_, _ = br.Discard(3) // a byte order mark some editors write
		}
		dec := json.NewDecoder(br)
		broken := func(err error) {
			if err == io.ErrUnexpectedEOF || errors.Is(err, errTooLarge) {
				d.fail("input ends inside a value: %v", err)
			} else {
				d.fail("invalid JSON at byte %d: %v; the rest of the input is not read", dec.InputOffset(), err)
			}
		}
		first := true
		for !d.stopped {
			next, ok := peekValue(dec, br)
			if !ok {
				return
			}
			var err error
			switch {
			case first && isLogFileStart(next):
				// A log file as CloudTrail writes it: its records are
				// read one by one, never the whole list at once.
				err = d.streamLogFile(dec)
			case next[0] == '[':
				err = d.streamArray(dec)
			default:
				var raw json.RawMessage
				if err = dec.Decode(&raw); err == nil {
					d.value(raw, -1, 0)
				}
			}
			first = false
			if err == io.EOF {
				return
			}
			if err != nil {
				broken(err)
				return
			}
		}
	}
}

// peekValue returns the start of the next value dec will read (up to 64
// bytes of it), from what dec has buffered and what br still holds; false
// at the end of the input.
func peekValue(dec *json.Decoder, br *bufio.Reader) ([]byte, bool) {
	// Only the first bytes of what dec holds: copying all of it for every
	// value of a long stream would cost more than decoding.
	var buffered []byte
	chunk := make([]byte, 64)
	for r := dec.Buffered(); len(buffered) < 64; {
		n, err := r.Read(chunk)
		part := chunk[:n]
		if len(buffered) == 0 {
			part = bytes.TrimLeft(part, " \t\r\n")
		}
		buffered = append(buffered, part...)
		if err != nil || n == 0 {
			break
		}
	}
	if len(buffered) >= 64 {
		return buffered[:64], true
	}
	for {
		head, err := br.Peek(64)
		rest := bytes.TrimLeft(head, " \t\r\n")
		if len(buffered) > 0 {
			return append(buffered, head...), true
		}
		if len(rest) > 0 {
			return rest, true
		}
		if err != nil || len(head) == 0 {
			return nil, false
		}
		// Only spaces so far: let them go and look further.
		_, _ = br.Discard(len(head))
	}
}

// streamArray reads a JSON array from dec, handing over its elements one
// at a time.
func (d *decoder) streamArray(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("want [, got %v", tok)
	}
	for dec.More() && !d.stopped {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		d.value(raw, -1, 1)
	}
	if d.stopped {
		return nil
	}
	_, err = dec.Token() // ]
	return err
}

// isLogFileStart reports whether head starts {"Records":[.
func isLogFileStart(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 || head[0] != '{' {
		return false
	}
	_, ok := recordsArray(head)
	return ok
}

// streamLogFile reads one {"Records":[...], ...} object from dec, yielding
// its records as it goes.
func (d *decoder) streamLogFile(dec *json.Decoder) error {
	for _, want := range []any{json.Delim('{'), "Records"} {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if tok != want {
			return fmt.Errorf("want %v, got %v", want, tok)
		}
	}
	if err := d.streamArray(dec); err != nil || d.stopped {
		return err
	}
	for dec.More() { // other keys, skipped
		var skip json.RawMessage
		if _, err := dec.Token(); err != nil {
			return err
		}
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	_, err := dec.Token() // }
	return err
}

var errTooLarge = errors.New("input too large")
