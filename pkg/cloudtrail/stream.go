package cloudtrail

import (
	"errors"
	"io"
	"iter"
)

// DecodeStream is Decode for inputs too large to hold whole, read as they
// come (already gunzipped): a log file's records one at a time, JSON Lines
// one line at a time. Memory stays at about the largest record. It yields
// what DecodeBytes would over the whole input; an input that cannot be
// read to its end yields the records before the break, then the error.
// keep is as for DecodeBytes.
func DecodeStream(r io.Reader, keep func(record []byte) bool) iter.Seq2[Record, error] {
	return decodeStream(r, keep, window)
}

// decodeStream is DecodeStream with a first window of size bytes.
func decodeStream(r io.Reader, keep func(record []byte) bool, size int) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		d := decoder{yield: yield, keep: keep, in: streamSource(r, size)}
		d.document()
		if d.in.err != nil {
			d.emit(Record{}, d.in.err)
		}
	}
}

var errTooLarge = errors.New("input too large")
