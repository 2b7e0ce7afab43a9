package hunt

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

// input reads and judges one input. The bytes of a file that holds no
// watched call are not decoded: that is most of an archive.
func (h *Hunter) input(name string, open func() (io.ReadCloser, error), ir *cloudtrail.InputReader) Result {
	res := Result{Name: name, Input: true}
	r, err := open()
	if err != nil {
		res.Errs = append(res.Errs, err)
		return res
	}
	whole := h.WholeRead
	if whole <= 0 {
		whole = DefaultWholeRead
	}
	data, rest, readErr := ir.Open(r, whole)
	// Within a file the prefilter passes, it also passes over the
	// records that name no watched call.
	var keep func([]byte) bool
	if h.Prefilter != nil {
		keep = h.Prefilter.Match
	}
	records := cloudtrail.DecodeBytes(data, keep)
	switch {
	case rest != nil:
		// Too large to hold whole (a big export, say): decoded as it
		// comes, each record through the prefilter.
		records = cloudtrail.DecodeStream(io.MultiReader(bytes.NewReader(data), rest), keep)
	case readErr == nil && h.Prefilter != nil && looksJSON(data) && !h.Prefilter.Match(data):
		res.Skipped = true
		records = nil
	}
	if records != nil {
		res.Decoded = true
		for rec, err := range records {
			if err != nil {
				res.Errs = append(res.Errs, fmt.Errorf("%s: %w", name, err))
				continue
			}
			if !h.keep(rec) {
				continue
			}
			res.Records++
			findings, err := h.Judge.Judge(rec)
			if err != nil {
				res.Errs = append(res.Errs, fmt.Errorf("%s: %s: %w", name, rec.Position, err))
			}
			for _, f := range findings {
				if f.Severity >= h.Min {
					res.Findings = append(res.Findings, f)
				}
			}
		}
	}
	res.Bytes, res.Compressed = ir.Decompressed, ir.Compressed
	if err := r.Close(); err != nil && readErr == nil {
		readErr = err
	}
	if readErr != nil {
		res.Errs = append(res.Errs, fmt.Errorf("%s: %w", name, readErr))
	}
	return res
}

// keep applies the filter's bounds to a record: a file's folder tells its
// day, account and region only roughly (and not at all outside the
// AWSLogs layout).
func (h *Hunter) keep(rec cloudtrail.Record) bool {
	f := h.Filter
	return f.InTime(rec.EventTime) &&
		(len(f.Accounts) == 0 || slices.Contains(f.Accounts, rec.RecipientAccountID)) &&
		(len(f.Regions) == 0 || slices.Contains(f.Regions, rec.AWSRegion))
}

// looksJSON reports whether data starts as JSON does (after a byte order
// mark and spaces), or is empty. What does not is decoded in full, so that
// a file that is not JSON at all (still gzipped, say, or encrypted) is
// reported rather than passed over as holding no watched call.
func looksJSON(data []byte) bool {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(data) == 0 || data[0] == '{' || data[0] == '['
}
