package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"iter"

	"github.com/klauspost/compress/gzip"
)

// InputReader reads inputs whole, gunzipping those that start with gzip's
// magic, and reuses its buffers from one input to the next: a hunt reads
// very many small files. The zero value is ready to use; it is not safe
// for concurrent use.
type InputReader struct {
	buf bytes.Buffer // the input, decompressed
	raw bytes.Buffer // the input as stored
	rd  bytes.Reader
	br  *bufio.Reader
	zr  *gzip.Reader
	// fast inflates whole inputs when the build has libdeflate.
	fast fastInflater
	// Compressed counts the bytes read from the last input as they came,
	// before gunzipping, so far.
	Compressed int64
	// Decompressed counts the bytes of the last input after gunzipping,
	// so far: those returned and those read from the rest.
	Decompressed int64

	// Limit bounds an input's decompressed size; 0 means MaxInput.
	Limit int
	// StoredWhole is the largest stored input read whole before it is
	// gunzipped, larger ones stream; 0 means 2 MiB.
	StoredWhole int64
}

func (ir *InputReader) limit() int {
	if ir.Limit > 0 {
		return ir.Limit
	}
	return MaxInput
}

func (ir *InputReader) storedWhole() int64 {
	if ir.StoredWhole > 0 {
		return ir.StoredWhole
	}
	return defaultStoredWhole
}

// Read reads r to its end, at most MaxInput bytes decompressed. The bytes
// it returns are valid until the next Read. On an error it returns what it
// read before the error, with the error.
func (ir *InputReader) Read(r io.Reader) ([]byte, error) {
	data, _, err := ir.Open(r, ir.limit())
	return data, err
}

// Open reads r to its end when it holds at most whole bytes decompressed.
// A larger input comes back as its first bytes and rest, the remaining
// decompressed stream, to be decoded as it comes (DecodeStream over both);
// rest fails once the input passes MaxInput. data is valid until the next
// Open or Read.
func (ir *InputReader) Open(r io.Reader, whole int) (data []byte, rest io.Reader, err error) {
	// A buffer a large input grew is let go: many readers at once each
	// keeping the largest input they met would add up.
	if ir.buf.Cap() > keptBuffer {
		ir.buf = bytes.Buffer{}
	}
	if ir.raw.Cap() > keptBuffer {
		ir.raw = bytes.Buffer{}
	}
	ir.buf.Reset()
	// Read the stored bytes first: the gunzipper runs fastest over bytes
	// in memory, and a log file is small.
	ir.raw.Reset()
	n, readErr := ir.raw.ReadFrom(io.LimitReader(r, ir.storedWhole()+1))
	ir.Compressed = n
	var src io.Reader
	if readErr == nil && n > ir.storedWhole() {
		// Too large to hold: the rest streams through.
		if ir.br == nil {
			ir.br = bufio.NewReaderSize(nil, 64<<10)
		}
		ir.br.Reset(io.MultiReader(bytes.NewReader(ir.raw.Bytes()), &countingReader{r: r, n: &ir.Compressed}))
		src = ir.br
	} else {
		ir.rd.Reset(ir.raw.Bytes())
		src = &ir.rd
	}
	if readErr == nil && n <= ir.storedWhole() {
		// Built with libdeflate, a whole gzip input is inflated in one
		// call; what it cannot do (a broken stream, a large output) is
		// done below.
		if data, ok := ir.fast.inflate(ir.raw.Bytes(), min(whole, ir.limit())); ok {
			ir.Decompressed = int64(len(data))
			return data, nil, nil
		}
	}
	what := "read"
	if head := ir.raw.Bytes(); len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		if ir.zr == nil {
			ir.zr, err = gzip.NewReader(src)
		} else {
			err = ir.zr.Reset(src)
		}
		if err != nil && readErr == nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		if err == nil {
			src, what = ir.zr, "gzip"
		}
	}
	whole = min(whole, ir.limit())
	if what == "gzip" && src == ir.zr && n <= ir.storedWhole() {
		ir.presize(whole)
	}
	_, err = ir.buf.ReadFrom(io.LimitReader(src, int64(whole)+1))
	data = ir.buf.Bytes()
	ir.Decompressed = int64(len(data))
	if readErr != nil {
		// What was read before the error is still judged.
		return data, nil, fmt.Errorf("read: after %d bytes: %w", n, readErr)
	}
	if err != nil {
		return data, nil, fmt.Errorf("%s: after %d bytes: %w", what, len(data), err)
	}
	if len(data) <= whole {
		return data, nil, nil
	}
	if whole == ir.limit() {
		return nil, nil, fmt.Errorf("input larger than %d bytes decompressed: split it", whole)
	}
	ir.Decompressed = int64(len(data))
	return data, &limited{r: src, left: int64(ir.limit() - len(data)), limit: ir.limit(), what: what, read: &ir.Decompressed}, nil
}

// presize makes room in buf for the gzip input held whole in raw, as its
// trailer gives its size (mod 2^32, of the last member: a log file has
// one), so that inflating it grows no buffer. The room is bounded: the
// size is the input's word.
func (ir *InputReader) presize(whole int) {
	raw := ir.raw.Bytes()
	if len(raw) < 18 {
		return
	}
	if size := int(binary.LittleEndian.Uint32(raw[len(raw)-4:])); size <= min(whole, keptBuffer) {
		ir.buf.Grow(size + bytes.MinRead) // ReadFrom grows with less free
	}
}

// defaultStoredWhole is InputReader.StoredWhole's default.
const defaultStoredWhole = 2 << 20

// keptBuffer is the largest buffer kept from one input to the next.
const keptBuffer = 4 << 20

// limited reads the rest of a large input, failing past MaxInput and
// naming where a read failed.
type limited struct {
	r     io.Reader
	left  int64
	limit int
	read  *int64 // all the input's bytes so far
	what  string
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if _, err := io.ReadFull(l.r, one[:]); err == io.EOF {
			return 0, io.EOF // the input ends exactly at the bound
		}
		return 0, fmt.Errorf("%w: larger than %d bytes decompressed: split it", errTooLarge, l.limit)
	}
	n, err := l.r.Read(p[:min(int64(len(p)), l.left)])
	l.left -= int64(n)
	*l.read += int64(n)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: after %d bytes: %w", l.what, *l.read, err)
	}
	return n, err
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// DecodeBytes is Decode over an input already read whole and gunzipped.
// keep, when not nil, sees each record's JSON (or each EventBridge event's,
// or each Athena row's) first: a record it refuses is passed over without
// being decoded, so no error in it is reported either. A hunt passes over
// the records that name no call it watches.
func DecodeBytes(data []byte, keep func(record []byte) bool) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		d := decoder{yield: yield, in: wholeSource(data), keep: keep}
		d.document()
	}
}
