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
// goes on. Records are told apart by their brackets and quotes before any
// is decoded, so broken JSON inside a record whose brackets balance (a
// bad literal, a bad escape, a missing comma or quote between its keys)
// spoils that record alone. Where no end can be found for one (a line
// break inside a string, an input cut short), decoding goes on at the
// next line that starts with { or [. An input that cannot be read to its
// end (a truncated gzip stream) yields the records read before the break,
// then the error. EventBridge events of
// other detail types are skipped. An Athena row whose requestparameters or
// responseelements text is not JSON yields an error naming the record and
// the column, then the record without that column.
func Decode(r io.Reader) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		data, readErr := readAll(r)
		d := decoder{yield: yield, in: wholeSource(data)}
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
	in      source
	records int  // values met so far that are, or should be, records
	resync  bool // broken JSON was skipped: a stray ] or } may follow
	stopped bool
	// Values starting before this offset are found by encoding/json, not
	// the splitter: one the splitter could not close was read this far,
	// and splitting again inside it would read it again and again.
	parseBefore int
}

// maxSplit is how far the splitter looks for a value's end before it
// leaves the value to encoding/json: past any record, and the most a
// stream holds for a value that is not valid JSON.
const maxSplit = MaxRecord + 1

// headLen is how much of a value is read to tell a log file: {"Records":[
// and the spaces around its parts.
const headLen = 64

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

// failAt reports the next position as broken JSON, at offset off.
func (d *decoder) failAt(off int, err error) {
	d.failLine(d.in.line(off), "invalid JSON: %v", err)
}

// document reads the input's top-level values one after another.
func (d *decoder) document() {
	off := 0
	if bytes.HasPrefix(d.in.load(0, 3), []byte("\xef\xbb\xbf")) {
		off = 3 // a byte order mark some editors write
	}
	for !d.stopped {
		off = d.skipSpace(off, -1)
		if len(d.in.load(off, off+1)) == 0 {
			return
		}
		off = d.top(off)
	}
}

// skipSpace returns the offset of the first byte at or after off, before
// limit (-1: the input's end), that is not a space.
func (d *decoder) skipSpace(off, limit int) int {
	for {
		b := d.bytes(off, off+1, limit)
		n := skipSpace(b, 0)
		off += n
		if n < len(b) || len(b) == 0 {
			return off
		}
	}
}

// bytes returns the input from off on, holding at least to offset to if
// the input goes that far, and stopping at limit (-1: the input's end).
func (d *decoder) bytes(off, to, limit int) []byte {
	b := d.in.load(off, to)
	if limit >= 0 {
		b = b[:max(min(len(b), limit-off), 0)]
	}
	return b
}

// top reads the value at off and returns the offset after it, or, when it
// is broken, the offset to go on from.
func (d *decoder) top(off int) int {
	head := d.bytes(off, off+headLen, -1)
	if d.resync && (head[0] == ']' || head[0] == '}') {
		return d.resyncFrom(off + 1) // the end of a container already reported broken
	}
	// A log file as CloudTrail writes it, or an array: their records are
	// read one at a time, so that a stream holds one record at a time and
	// a break in one keeps the others.
	arr := -1
	if h := head[:min(len(head), headLen)]; h[0] == '{' {
		if rest, ok := recordsArray(h); ok {
			arr = off + len(h) - len(rest)
		}
	}
	if arr >= 0 || head[0] == '[' {
		end, ok := 0, false
		if arr >= 0 {
			end, ok = d.logFile(arr, -1, 1)
		} else {
			end, ok = d.elements(off, -1, 1)
		}
		if !ok {
			d.resync = true
			return d.resyncFrom(end + 1)
		}
		return end
	}
	end, at, err := d.next(off, -1)
	if err != nil {
		d.failAt(at, err)
		d.resync = true
		return d.resyncFrom(off + 1)
	}
	d.value(d.bytes(off, end, end), off, 0)
	return end
}

// next finds the end of the value at off, not a space, before limit (-1:
// the input's end, reading on as needed). A value that is not an object,
// array or string, or whose end the splitter cannot find, is read by
// encoding/json, which also says why and where (at) it breaks.
func (d *decoder) next(off, limit int) (end, at int, err error) {
	for {
		b := d.bytes(off, off+1, limit)
		more := limit < 0 && d.in.more()
		if off >= d.parseBefore {
			n, s := valueEnd(b[:min(len(b), maxSplit)])
			if s == closed {
				return off + n, 0, nil
			}
			if s == short {
				if more && len(b) < maxSplit {
					d.in.fill(off, off+2*len(b)) // twice as much, so that rescans add up to little
					continue
				}
				d.parseBefore = off + min(len(b), maxSplit)
			}
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		n := int(dec.InputOffset())
		if more && (err == io.ErrUnexpectedEOF || err == nil && n == len(b)) {
			d.in.fill(off, off+2*len(b)) // a number may go on in what is still to read
			continue
		}
		if err == nil {
			return off + n, 0, nil
		}
		at := off + len(b)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			at = off + max(int(se.Offset)-1, 0) // the byte that broke it
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return -1, at, err
	}
}

// resyncFrom finds where to go on after broken JSON: the next { or [, at
// or after from, that starts a line or follows a closing brace. JSON Lines
// and concatenated documents start there; nothing inside a valid document
// does, and the inside of a pretty-printed one is indented. The byte
// before from is not a space.
func (d *decoder) resyncFrom(from int) int {
	b := d.bytes(from-1, from, -1)
	if len(b) == 0 {
		return from - 1
	}
	last, mark := b[0], b[0] // the byte before i, the last that is not a space
	for i := from; ; {
		b = d.bytes(i, i+1, -1)
		if len(b) == 0 {
			return i
		}
		for j, c := range b {
			if (c == '{' || c == '[') && (last == '\n' || mark == '}') {
				return i + j
			}
			last = c
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				mark = c
			}
		}
		i += len(b)
	}
}

// skipSpace returns the offset of the first non-space byte at or after off.
func skipSpace(b []byte, off int) int {
	for off < len(b) && (b[off] == ' ' || b[off] == '\t' || b[off] == '\r' || b[off] == '\n') {
		off++
	}
	return off
}

// value handles one value, the bytes data at offset off. Objects other
// than log files pass keep before they are decoded.
func (d *decoder) value(data []byte, off, depth int) {
	switch data[0] {
	case '[':
		if depth >= maxNesting {
			d.fail("arrays nested deeper than %d", maxNesting)
			return
		}
		d.elements(off, off+len(data), depth+1)
	case '{':
		if arr, ok := recordsArray(data); ok {
			if depth >= maxNesting {
				d.fail("log files nested deeper than %d", maxNesting)
				return
			}
			d.logFile(off+len(data)-len(arr), off+len(data), depth+1)
			return
		}
		if d.keep != nil && !d.keep(data) {
			d.records++ // passed over; it keeps its place
			return
		}
		d.object(data, off, depth)
	default:
		if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
			d.failAt(off, err)
			return
		}
		d.fail("want a JSON object, got %.20s", data)
	}
}

// elements handles each element of the array at off, before limit (-1:
// the input's end, read as it comes). A broken element whose end is found
// is reported (when keep passes it) and the next is read; one whose end
// is not, or a bad byte between elements, ends the array with an error
// naming the record and line where it breaks, and the records before it
// stand. It returns the offset just after the array, or false and the
// offset where it broke.
func (d *decoder) elements(off, limit, depth int) (end int, ok bool) {
	i := off + 1 // after [
	for first := true; !d.stopped; first = false {
		i = d.skipSpace(i, limit)
		b := d.bytes(i, i+1, limit)
		switch {
		case len(b) == 0:
			d.failAt(i, io.ErrUnexpectedEOF)
			return i, false
		case b[0] == ']':
			return i + 1, true
		case !first && b[0] != ',':
			d.failAt(i, fmt.Errorf("invalid character %q after array element", b[0]))
			if b[0] != '{' {
				return i, false
			}
			// A comma left out: the record after it is read still.
		case !first:
			i = d.skipSpace(i+1, limit)
			if len(d.bytes(i, i+1, limit)) == 0 {
				d.failAt(i, io.ErrUnexpectedEOF)
				return i, false
			}
		}
		end, errAt, err := d.next(i, limit)
		if err != nil {
			d.failAt(errAt, err)
			return i, false
		}
		d.value(d.bytes(i, end, end), i, depth)
		i = end
	}
	return i, true
}

// logFile handles the records of a log file, {"Records":[...]}, whose
// array starts at arr, and reads what follows the array: the object's
// closing brace, or other keys (skipped) and the brace. It returns as
// elements does.
func (d *decoder) logFile(arr, limit, depth int) (end int, ok bool) {
	end, ok = d.elements(arr, limit, depth)
	if !ok || d.stopped {
		return end, ok
	}
	i := d.skipSpace(end, limit)
	for {
		b := d.bytes(i, i+1, limit)
		if len(b) > 0 && b[0] == '}' {
			return i + 1, true
		}
		if len(b) == 0 || b[0] != ',' {
			d.failLine(d.in.line(i), "after the Records list: want , or }, got %q", d.excerpt(i, limit))
			return i, false
		}
		// "key": value, checked but not kept. Each part is checked as
		// soon as it is found: reading on may let go of what is before.
		key := d.skipSpace(i+1, limit)
		if b := d.bytes(key, key+1, limit); len(b) == 0 || b[0] != '"' {
			d.failLine(d.in.line(key), "after the Records list: want a key, got %q", d.excerpt(key, limit))
			return key, false
		}
		keyEnd, at, err := d.next(key, limit)
		if err == nil && !json.Valid(d.bytes(key, keyEnd, keyEnd)) {
			err, at = errors.New("the key is not a valid string"), key
		}
		if err != nil {
			d.failLine(d.in.line(at), "after the Records list: %v", err)
			return key, false
		}
		colon := d.skipSpace(keyEnd, limit)
		if b := d.bytes(colon, colon+1, limit); len(b) == 0 || b[0] != ':' {
			d.failLine(d.in.line(colon), "after the Records list: want :, got %q", d.excerpt(colon, limit))
			return colon, false
		}
		val := d.skipSpace(colon+1, limit)
		valEnd, at, err := d.next(val, limit)
		if err == nil {
			err = json.Unmarshal(d.bytes(val, valEnd, valEnd), new(json.RawMessage))
			at = val
		}
		if err != nil {
			d.failLine(d.in.line(at), "after the Records list: %v", err)
			return val, false
		}
		i = d.skipSpace(valEnd, limit)
	}
}

// excerpt is the input at off, before limit, as an error message shows it.
func (d *decoder) excerpt(off, limit int) []byte {
	b := d.bytes(off, off+20, limit)
	return b[:min(len(b), 20)]
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

// object decodes an object at offset off: a record, an EventBridge event,
// a log file whose Records are not its first key, a digest file or an
// Athena row.
func (d *decoder) object(data []byte, off, depth int) {
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
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			d.failAt(off+max(int(se.Offset)-1, 0), err)
		case isAthenaRow(data):
			// encoding/json matches keys without regard to case, so an
			// Athena row's bad column may fail as a record's field.
			d.athena(data)
		default:
			d.fail("%w", describe(err))
		}
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
			// A copy: its records are read as an input of their own,
			// whose lines say nothing.
			sub := decoder{yield: d.yield, keep: d.keep, in: wholeSource(records), records: d.records}
			sub.in.noLines = true
			sub.elements(0, len(records), depth+1)
			d.records, d.stopped = sub.records, sub.stopped
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
