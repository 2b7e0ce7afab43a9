package cloudtrail

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"
)

// DetailType is the detail-type of EventBridge events that carry a
// CloudTrail record of an API call.
const DetailType = "AWS API Call via CloudTrail"

// maxNesting bounds how deep arrays of envelopes may nest; real inputs nest
// at most twice (an array of log files).
const maxNesting = 4

// Decode yields the records in r, whatever the envelope: an EventBridge
// event, a bare record, a log file {"Records":[...]}, a JSON array of any
// of these, or JSON Lines; gzip-compressed or not. A record that cannot be
// read yields an error naming its position ("record 12: ...", "line 3:
// ...") and decoding goes on with the next one. An error that ends the
// input (a broken gzip stream, JSON that cannot be split into values) is
// the last thing yielded. EventBridge events of other detail types are
// skipped.
func Decode(r io.Reader) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		data, err := readAll(r)
		if err != nil {
			yield(Record{}, err)
			return
		}
		d := decoder{yield: yield}
		d.document(data)
	}
}

// readAll reads the input, gunzipping it if it starts with gzip's magic.
func readAll(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		data, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return data, nil
	}
	data, err := io.ReadAll(br)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return data, nil
}

type decoder struct {
	yield   func(Record, error) bool
	records int // records seen so far, for positions
	stopped bool
}

func (d *decoder) emit(r Record, err error) {
	if !d.stopped && !d.yield(r, err) {
		d.stopped = true
	}
}

func (d *decoder) document(data []byte) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a byte order mark some editors write
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return
	}
	// A log file as CloudTrail writes it: stream its records, so that a
	// large file is scanned once and a break late in it keeps the records
	// before it.
	if arr, ok := recordsArray(trimmed); ok {
		end := d.elements(arr, "", 1)
		if end < 0 {
			return
		}
		// What follows the log file: its closing brace (or keys other than
		// Records, skipped), then perhaps more documents (cat a.json b.json).
		rest, err := afterRecords(bytes.TrimSpace(arr[end:]))
		if err != nil {
			d.records++
			d.emit(Record{}, fmt.Errorf("record %d: after the Records list: %w", d.records, err))
			return
		}
		d.document(rest)
		return
	}
	// One JSON value, or several one after another: JSON Lines, or
	// concatenated documents (cat a.json b.json).
	if values, ok := splitValues(trimmed); ok {
		for _, v := range values {
			if d.stopped {
				return
			}
			d.value(v, "", 0)
		}
		return
	}
	// Some value is broken. In JSON Lines a bad line must not hide the
	// others; if even the first line is not a value, the input is one
	// broken document (pretty-printed JSON): say where it breaks.
	lines := bytes.Split(data, []byte("\n"))
	first := 0
	for first < len(lines) && len(bytes.TrimSpace(lines[first])) == 0 {
		first++
	}
	if !json.Valid(bytes.TrimSpace(lines[first])) {
		d.emit(Record{}, syntaxError(data))
		return
	}
	for i, line := range lines {
		if d.stopped {
			return
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		pos := fmt.Sprintf("line %d", i+1)
		if !json.Valid(line) {
			d.emit(Record{}, fmt.Errorf("%s: %w", pos, syntaxError(line)))
			continue
		}
		d.value(line, pos, 0)
	}
}

// splitValues splits concatenated JSON values; ok is false if any is broken.
func splitValues(data []byte) (values []json.RawMessage, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var v json.RawMessage
		err := dec.Decode(&v)
		if err == io.EOF {
			return values, true
		}
		if err != nil {
			return nil, false
		}
		values = append(values, v)
	}
}

// syntaxError describes where data stops being JSON.
func syntaxError(data []byte) error {
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("invalid JSON at line %d (byte %d): %v", line, se.Offset, se)
	}
	if err == nil {
		err = errors.New("more than one JSON value")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// envelope is the union of every object shape the input may hold, so one
// pass tells which it is.
type envelope struct {
	Record
	Records    json.RawMessage `json:"Records"`
	DetailType *string         `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
	Account    string          `json:"account"`
	Region     string          `json:"region"`
}

// value handles one valid JSON value at position pos ("" for the whole
// input, "line 3" in JSON Lines).
func (d *decoder) value(data []byte, pos string, depth int) {
	where := func(n int) string {
		switch {
		case pos == "":
			return fmt.Sprintf("record %d", n)
		case depth == 0:
			return pos // a line of JSON Lines holding one record
		}
		return fmt.Sprintf("%s: record %d", pos, n)
	}
	switch data[0] {
	case '[':
		if depth >= maxNesting {
			d.records++
			d.emit(Record{}, fmt.Errorf("%s: arrays nested deeper than %d", where(d.records), maxNesting))
			return
		}
		d.elements(data, pos, depth+1)
	case '{':
		if arr, ok := recordsArray(data); ok {
			if depth >= maxNesting {
				d.records++
				d.emit(Record{}, fmt.Errorf("%s: log files nested deeper than %d", where(d.records), maxNesting))
				return
			}
			d.elements(arr, pos, depth+1)
			return
		}
		d.object(data, pos, depth, where)
	default:
		d.records++
		d.emit(Record{}, fmt.Errorf("%s: want a JSON object, got %.20s", where(d.records), data))
	}
}

// elements handles each element of arr, a JSON array, scanning it once
// rather than splitting it first. Broken JSON ends the array with an error
// naming the record where it breaks; the records before it stand. It
// returns the offset in arr just after the array, or -1 if it stopped
// early.
func (d *decoder) elements(arr []byte, pos string, depth int) int {
	dec := json.NewDecoder(bytes.NewReader(arr))
	broken := func(err error) {
		d.records++
		at := fmt.Sprintf("record %d", d.records)
		if pos != "" {
			at = pos + ": " + at
		}
		d.emit(Record{}, fmt.Errorf("%s: invalid JSON at byte %d of the array: %w", at, dec.InputOffset(), err))
	}
	if _, err := dec.Token(); err != nil { // [
		broken(err)
		return -1
	}
	for dec.More() && !d.stopped {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			broken(err)
			return -1
		}
		d.value(raw, pos, depth)
	}
	if d.stopped {
		return -1
	}
	if _, err := dec.Token(); err != nil { // ]
		broken(err)
		return -1
	}
	return int(dec.InputOffset())
}

// afterRecords returns what follows the log file object whose Records
// list ended just before tail.
func afterRecords(tail []byte) ([]byte, error) {
	if rest, ok := bytes.CutPrefix(tail, []byte("}")); ok {
		return rest, nil
	}
	if _, ok := bytes.CutPrefix(tail, []byte(",")); !ok {
		return nil, fmt.Errorf("want , or }, got %.20q", tail)
	}
	// Other keys: read the rest of the object as one, to find its end.
	obj := append([]byte("{"), tail[1:]...)
	dec := json.NewDecoder(bytes.NewReader(obj))
	var skip json.RawMessage
	if err := dec.Decode(&skip); err != nil {
		return nil, err
	}
	return obj[dec.InputOffset():], nil
}

// recordsArray finds the array of a log file as CloudTrail writes it,
// {"Records":[...]}, so that its records are read in one pass. Other
// objects go through object.
func recordsArray(obj []byte) ([]byte, bool) {
	rest := bytes.TrimLeft(obj[1:], " \t\r\n")
	rest, ok := bytes.CutPrefix(rest, []byte(`"Records"`))
	if !ok {
		return nil, false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	rest, ok = bytes.CutPrefix(rest, []byte(":"))
	if !ok {
		return nil, false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) == 0 || rest[0] != '[' {
		return nil, false
	}
	return rest, true
}

func (d *decoder) object(data []byte, pos string, depth int, where func(int) string) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		d.records++
		d.emit(Record{}, fmt.Errorf("%s: %w", where(d.records), describe(err)))
		return
	}
	switch {
	case env.Records != nil:
		if depth >= maxNesting {
			d.records++
			d.emit(Record{}, fmt.Errorf("%s: log files nested deeper than %d", where(d.records), maxNesting))
			return
		}
		if bytes.Equal(bytes.TrimSpace(env.Records), []byte("null")) {
			return
		}
		if t := bytes.TrimSpace(env.Records); len(t) == 0 || t[0] != '[' {
			d.records++
			d.emit(Record{}, fmt.Errorf("%s: Records is not a list", where(d.records)))
			return
		}
		d.value(env.Records, pos, depth+1)
	case env.DetailType != nil || env.Detail != nil:
		if env.DetailType == nil || *env.DetailType != DetailType {
			return // another kind of EventBridge event: not ours
		}
		d.records++
		if len(env.Detail) == 0 || env.Detail[0] != '{' {
			d.emit(Record{}, fmt.Errorf("%s: EventBridge event %s has no detail object", where(d.records), env.Account))
			return
		}
		rec, err := ParseRecord(env.Detail, env.Account, env.Region)
		if err != nil {
			d.emit(Record{}, fmt.Errorf("%s: detail: %w", where(d.records), err))
			return
		}
		d.emitChecked(rec, where(d.records))
	default:
		d.records++
		d.emitChecked(env.Record, where(d.records))
	}
}

// emitChecked rejects objects that carry none of a record's identifying
// fields, such as a stray configuration file.
func (d *decoder) emitChecked(r Record, where string) {
	if r.EventName == "" && r.EventSource == "" {
		d.emit(Record{}, fmt.Errorf("%s: not a CloudTrail record: no eventName or eventSource", where))
		return
	}
	d.emit(r, nil)
}

// describe turns encoding/json's type errors into ones that name the field.
func describe(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("field %s: want %s, got JSON %s", strings.TrimPrefix(te.Field, "Record."), te.Type, te.Value)
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		// eventTime is the only time a record holds.
		return fmt.Errorf("field eventTime: %q is not an RFC 3339 time", pe.Value)
	}
	return err
}
