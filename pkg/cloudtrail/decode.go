package cloudtrail

import (
	"bytes"
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

// MaxInput bounds one input, decompressed. CloudTrail's log files are a
// few megabytes at most; the bound keeps a gzip bomb from taking the
// machine.
const MaxInput = 512 << 20

// MaxRecord bounds one record or EventBridge event. EventBridge refuses
// events over 256 KB and CloudTrail leaves out request and response
// elements it finds too large, so a larger record is not AWS's.
const MaxRecord = 1 << 20

// maxInput is MaxInput, lowered by tests.
var maxInput = MaxInput

// maxNesting bounds how deep arrays of envelopes may nest; real inputs nest
// at most twice (an array of log files).
const maxNesting = 4

// Decode yields the records in r, whatever the envelope: an EventBridge
// event, a bare record, a log file {"Records":[...]}, a row of Athena's
// UNLOAD over the CloudTrail table, a JSON array of any of these, JSON
// Lines or concatenated documents; gzip-compressed or not.
//
// A record that cannot be read yields an error naming its position
// ("record 12: ...", "record 3 (line 40): invalid JSON ...") and decoding
// goes on: after broken JSON, at the next line that starts with { or [.
// An input that cannot be read to its end (a truncated gzip stream) yields
// the records read before the break, then the error. EventBridge events of
// other detail types are skipped. An Athena row whose requestparameters or
// responseelements text is not JSON yields an error naming the record and
// the column, then the record without that column.
func Decode(r io.Reader) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		data, readErr := readAll(r)
		d := decoder{yield: yield, input: data}
		d.document()
		if readErr != nil && !d.stopped {
			yield(Record{}, readErr)
		}
	}
}

// RecordFile says whether a file met in a folder may hold records, by its
// name: .json, .jsonl, .ndjson, or any of them gzipped (.gz).
func RecordFile(name string) bool {
	for _, ext := range []string{".json", ".jsonl", ".ndjson", ".gz"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// readAll reads the input, gunzipping it if it starts with gzip's magic.
// On an error it returns what it read before it.
func readAll(r io.Reader) ([]byte, error) {
	var ir InputReader
	return ir.Read(r)
}

type decoder struct {
	yield   func(Record, error) bool
	keep    func([]byte) bool // nil: every record is decoded
	input   []byte
	records int  // values met so far that are, or should be, records
	resync  bool // broken JSON was skipped: a stray ] or } may follow
	stopped bool
}

func (d *decoder) emit(r Record, err error) {
	if !d.stopped && !d.yield(r, err) {
		d.stopped = true
	}
}

// fail reports the next position as broken.
func (d *decoder) fail(format string, args ...any) { d.failLine(0, format, args...) }

// failLine reports the next position, on line (0: unknown), as broken.
func (d *decoder) failLine(line int, format string, args ...any) {
	d.records++
	at := fmt.Sprintf("record %d", d.records)
	if line > 0 {
		at += fmt.Sprintf(" (line %d)", line)
	}
	d.emit(Record{}, fmt.Errorf("%s: %w", at, fmt.Errorf(format, args...)))
}

// line is the line of the input at byte offset off.
func (d *decoder) line(off int) int {
	return 1 + bytes.Count(d.input[:min(max(off, 0), len(d.input))], []byte("\n"))
}

// document reads the input's top-level values one after another.
func (d *decoder) document() {
	off := 0
	if bytes.HasPrefix(d.input, []byte("\xef\xbb\xbf")) {
		off = 3 // a byte order mark some editors write
	}
	for !d.stopped {
		off = skipSpace(d.input, off)
		if off >= len(d.input) {
			return
		}
		off = d.top(off)
	}
}

// top reads the value at off and returns the offset after it, or, when it
// is broken, the offset to go on from.
func (d *decoder) top(off int) int {
	v := d.input[off:]
	if d.resync && (v[0] == ']' || v[0] == '}') {
		return resync(d.input, off) // the end of a container already reported broken
	}
	// A log file as CloudTrail writes it: stream its records, so that a
	// large file is scanned once and a break late in it keeps the records
	// before it.
	if arr, ok := recordsArray(v); ok {
		arrOff := off + len(v) - len(arr)
		end, broken := d.elements(arr, arrOff, 1)
		if end < 0 {
			d.resync = true
			return resync(d.input, broken+1)
		}
		n, err := afterRecords(d.input[arrOff+end:])
		if err != nil {
			d.failLine(d.line(arrOff+end), "after the Records list: %v", err)
			d.resync = true
			return resync(d.input, arrOff+end)
		}
		return arrOff + end + n
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		at := len(d.input)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			at = off + int(se.Offset)
		}
		d.failLine(d.line(at), "invalid JSON: %v", err)
		d.resync = true
		return resync(d.input, off+1)
	}
	d.value(raw, -1, 0)
	return off + int(dec.InputOffset())
}

// skipSpace returns the offset of the first non-space byte at or after off.
func skipSpace(b []byte, off int) int {
	for off < len(b) && (b[off] == ' ' || b[off] == '\t' || b[off] == '\r' || b[off] == '\n') {
		off++
	}
	return off
}

// resync finds where to go on after broken JSON: the next { or [, after
// from, that starts a line or follows a closing brace. JSON Lines and
// concatenated documents start there; nothing inside a valid document
// does, and the inside of a pretty-printed one is indented.
func resync(b []byte, from int) int {
	for i := max(from, 1); i < len(b); i++ {
		if b[i] != '{' && b[i] != '[' {
			continue
		}
		if b[i-1] == '\n' {
			return i
		}
		j := i - 1
		for j > 0 && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n') {
			j--
		}
		if b[j] == '}' {
			return i
		}
	}
	return len(b)
}

// value handles one valid JSON value. off is its offset in the input, or
// -1 when it is a copy.
func (d *decoder) value(data []byte, off, depth int) {
	switch data[0] {
	case '[':
		if depth >= maxNesting {
			d.fail("arrays nested deeper than %d", maxNesting)
			return
		}
		d.elements(data, off, depth+1)
	case '{':
		if arr, ok := recordsArray(data); ok {
			if depth >= maxNesting {
				d.fail("log files nested deeper than %d", maxNesting)
				return
			}
			arrOff := -1
			if off >= 0 {
				arrOff = off + len(data) - len(arr)
			}
			d.elements(arr, arrOff, depth+1)
			return
		}
		if d.keep != nil && !d.keep(data) {
			d.records++ // passed over; it keeps its place
			return
		}
		d.object(data, depth)
	default:
		d.fail("want a JSON object, got %.20s", data)
	}
}

// elements handles each element of arr, a JSON array at offset arrOff of
// the input (-1: a copy), scanning it once rather than splitting it first.
// Broken JSON ends the array with an error naming the record and line
// where it breaks; the records before it stand. It returns the offset in
// arr just after the array, or -1 and the input offset of the element that
// broke (or of the array, if unknown).
func (d *decoder) elements(arr []byte, arrOff, depth int) (end, broken int) {
	dec := json.NewDecoder(bytes.NewReader(arr))
	start := 0
	broke := func(err error) (int, int) {
		line := 0
		if arrOff >= 0 {
			at := int(dec.InputOffset())
			var se *json.SyntaxError
			if errors.As(err, &se) {
				at = int(se.Offset)
			}
			line = d.line(arrOff + at)
		}
		d.failLine(line, "invalid JSON: %v", err)
		// Go on after the start of the element that broke (start is
		// before the comma that precedes it).
		at := skipSpace(arr, start)
		if at < len(arr) && arr[at] == ',' {
			at = skipSpace(arr, at+1)
		}
		return -1, max(arrOff, 0) + at
	}
	if _, err := dec.Token(); err != nil { // [
		return broke(err)
	}
	for dec.More() && !d.stopped {
		start = int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return broke(err)
		}
		d.value(raw, -1, depth)
	}
	if d.stopped {
		return -1, len(d.input)
	}
	if _, err := dec.Token(); err != nil { // ]
		return broke(err)
	}
	return int(dec.InputOffset()), 0
}

// afterRecords reads what follows the Records list of a log file, tail:
// its closing brace, or other keys (skipped) and the brace. It returns how
// many bytes of tail the object still took.
func afterRecords(tail []byte) (int, error) {
	i := skipSpace(tail, 0)
	if i < len(tail) && tail[i] == '}' {
		return i + 1, nil
	}
	if i >= len(tail) || tail[i] != ',' {
		return 0, fmt.Errorf("want , or }, got %.20q", tail[i:])
	}
	// Other keys: read the rest as an object, with the comma standing in
	// for its opening brace, to find its end.
	dec := json.NewDecoder(io.MultiReader(strings.NewReader("{"), bytes.NewReader(tail[i+1:])))
	var skip json.RawMessage
	if err := dec.Decode(&skip); err != nil {
		return 0, err
	}
	return i + int(dec.InputOffset()), nil
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

// envelope is the union of every object shape the input may hold, so one
// pass tells which it is.
type envelope struct {
	Record
	Records    json.RawMessage `json:"Records"`
	DetailType *string         `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	Time       string          `json:"time"`
	Account    string          `json:"account"`
	Region     string          `json:"region"`
	// Digest files, which CloudTrail writes beside the logs, hold these.
	DigestStartTime string `json:"digestStartTime"`
	// Rows of Athena's UNLOAD hold these keys, in lower case; a record
	// spells them eventSource and eventName. Raw, so that null counts.
	AthenaEventSource json.RawMessage `json:"eventsource"`
	AthenaEventName   json.RawMessage `json:"eventname"`
}

func (d *decoder) object(data []byte, depth int) {
	if len(data) > MaxRecord {
		var file struct {
			Records json.RawMessage `json:"Records"`
		}
		if json.Unmarshal(data, &file) != nil || file.Records == nil {
			d.fail("%d bytes, larger than any CloudTrail record or EventBridge event (at most %d): refused", len(data), MaxRecord)
			return
		}
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		// encoding/json matches keys without regard to case, so an
		// Athena row's bad column may fail as a record's field.
		if isAthenaRow(data) {
			d.athena(data)
			return
		}
		d.fail("%w", describe(err))
		return
	}
	switch {
	case env.Records != nil:
		records := bytes.TrimSpace(env.Records)
		switch {
		case bytes.Equal(records, []byte("null")):
			d.records++ // an empty log file keeps its place
		case depth >= maxNesting:
			d.fail("log files nested deeper than %d", maxNesting)
		case records[0] != '[':
			d.fail("Records is not a list")
		default:
			d.elements(records, -1, depth+1)
		}
	case env.DetailType != nil || env.Detail != nil:
		if env.DetailType == nil || *env.DetailType != DetailType {
			d.records++ // another kind of EventBridge event: not ours
			return
		}
		if len(env.Detail) == 0 || env.Detail[0] != '{' {
			d.fail("EventBridge event %q has no detail object", env.ID)
			return
		}
		e := Envelope{Account: env.Account, Region: env.Region, Source: env.Source}
		if t, err := time.Parse(time.RFC3339, env.Time); err == nil {
			e.Time = t
		}
		rec, err := ParseRecord(env.Detail, e)
		if err != nil {
			d.fail("detail: %w", err)
			return
		}
		d.emitChecked(rec, env.Detail, "eventName")
	case env.DigestStartTime != "":
		d.records++ // a digest file: it lists log files, it holds no calls
	case env.AthenaEventSource != nil || env.AthenaEventName != nil:
		d.athena(data)
	default:
		d.emitChecked(env.Record, data, "eventName")
	}
}

// emitChecked rejects objects that carry none of a record's identifying
// fields, such as a stray configuration file, and records whose name is
// not written under key as CloudTrail (eventName) or Athena (eventname)
// writes it (see EventNames). raw is the record's JSON. bad are errors in
// parts of it (an Athena row's columns), reported at its position before
// the record.
func (d *decoder) emitChecked(r Record, raw []byte, key string, bad ...error) {
	if r.EventName == "" && r.EventSource == "" {
		d.fail("not a CloudTrail record: no eventName or eventSource")
		return
	}
	if !nameWritten(raw, r.EventName) {
		d.fail("%s %q is under a key %s does not write (the key is spelt %s)", key, r.EventName, writer[key], key)
		return
	}
	d.records++
	r.Position = fmt.Sprintf("record %d", d.records)
	for _, err := range bad {
		d.emit(Record{}, fmt.Errorf("%s: Athena row: %w", r.Position, err))
	}
	d.emit(r, nil)
}

// writer names who writes each name key.
var writer = map[string]string{"eventName": "CloudTrail", "eventname": "Athena"}

// athena handles an Athena row.
func (d *decoder) athena(data []byte) {
	rec, bad, err := athenaRecord(data)
	if err != nil {
		d.fail("Athena row: %w", err)
		return
	}
	d.emitChecked(rec, data, "eventname", bad...)
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
