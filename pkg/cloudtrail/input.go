package cloudtrail

import (
	"bufio"
	"bytes"
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
	buf bytes.Buffer
	br  *bufio.Reader
	zr  *gzip.Reader
	// Compressed counts the bytes read from the last input as they came,
	// before gunzipping.
	Compressed int64
}

// Read reads r to its end, at most MaxInput bytes decompressed. The bytes
// it returns are valid until the next Read. On an error it returns what it
// read before the error, with the error.
func (ir *InputReader) Read(r io.Reader) ([]byte, error) {
	ir.buf.Reset()
	cr := &countingReader{r: r}
	if ir.br == nil {
		ir.br = bufio.NewReaderSize(cr, 64<<10)
	} else {
		ir.br.Reset(cr)
	}
	defer func() { ir.Compressed = cr.n }()
	var src io.Reader = ir.br
	what := "read"
	if head, _ := ir.br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		var err error
		if ir.zr == nil {
			ir.zr, err = gzip.NewReader(ir.br)
		} else {
			err = ir.zr.Reset(ir.br)
		}
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		src, what = ir.zr, "gzip"
	}
	_, err := ir.buf.ReadFrom(io.LimitReader(src, int64(maxInput)+1))
	data := ir.buf.Bytes()
	if len(data) > maxInput {
		return nil, fmt.Errorf("input larger than %d bytes decompressed: split it", maxInput)
	}
	if err != nil {
		return data, fmt.Errorf("%s: after %d bytes: %w", what, len(data), err)
	}
	return data, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// DecodeBytes is Decode over an input already read whole and gunzipped.
func DecodeBytes(data []byte) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		d := decoder{yield: yield, input: data}
		d.document()
	}
}
