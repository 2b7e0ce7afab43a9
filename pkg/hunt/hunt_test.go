package hunt

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/prefilter"
)

const events = "../../events"

var sampleConfig = detect.Config{TrustedAccounts: []string{"444455556666"}, OrgID: "o-a1b2c3d4e5"}

// watched are the calls any rule reads, as the scan command gives them to
// the prefilter.
func watched() *prefilter.Filter { return prefilter.New(detect.WatchedNames()) }

// totals is what a hunt gave, added up.
type totals struct {
	inputs, decoded, skipped, records int
	findings                          []string // event ID and rule
	errs                              []string
}

func hunt(t *testing.T, h *Hunter, stdin io.Reader, paths ...string) totals {
	t.Helper()
	var s totals
	for res := range h.Hunt(context.Background(), paths, stdin) {
		if res.Input {
			s.inputs++
		}
		if res.Decoded {
			s.decoded++
		}
		if res.Skipped {
			s.skipped++
		}
		s.records += res.Records
		for _, f := range res.Findings {
			s.findings = append(s.findings, f.EventID+" "+f.Rule)
		}
		for _, e := range res.Errs {
			s.errs = append(s.errs, e.Error())
		}
	}
	return s
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(events, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOrder: inputs judged in parallel come out in the order a single
// worker gives, which is the order of the paths and of the walk.
func TestOrder(t *testing.T) {
	h := &Hunter{Judge: detect.New(sampleConfig), Min: detect.Info}
	paths := []string{events, filepath.Join(events, "public-layer.json"), filepath.Join(events, "no-such-file.json"), "-"}
	stdin := readEvent(t, "permission-removed.json")
	collect := func(workers int) []string {
		h.Workers = workers
		var out []string
		for res := range h.Hunt(context.Background(), paths, bytes.NewReader(stdin)) {
			for _, f := range res.Findings {
				out = append(out, f.EventID+" "+f.Rule)
			}
			for _, e := range res.Errs {
				out = append(out, e.Error())
			}
		}
		return out
	}
	one := collect(1)
	if len(one) < 30 || !strings.Contains(one[len(one)-1], "permission-removed") {
		t.Fatalf("one worker: %d lines, last %q", len(one), one[len(one)-1])
	}
	if !slices.Contains(one, "stat ../../events/no-such-file.json: no such file or directory") {
		t.Errorf("the missing file is not named: %q", one)
	}
	for _, workers := range []int{2, 8, 0} {
		if got := collect(workers); !slices.Equal(got, one) {
			t.Errorf("%d workers:\n%v\nwant\n%v", workers, got, one)
		}
	}
	// A consumer that stops early stops the walk.
	n := 0
	for range h.Hunt(context.Background(), paths, bytes.NewReader(stdin)) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("%d results after break", n)
	}
}

// TestWalk: symbolic links are followed (once), hidden entries and
// CloudTrail's digest files skipped.
func TestWalk(t *testing.T) {
	good := readEvent(t, "public-invoke-addpermission-star.json")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "logs/a.json"), good)
	write(t, filepath.Join(dir, "logs/.hidden.json"), []byte("not json"))
	write(t, filepath.Join(dir, "logs/notes.txt"), []byte("not json"))
	write(t, filepath.Join(dir, "AWSLogs/1/CloudTrail-Digest/eu-west-1/x.json"), []byte(`{"digestStartTime":"2026-11-20T10:00:00Z","logFiles":[]}`))
	write(t, filepath.Join(dir, "AWSLogs/1/CloudTrail/eu-west-1/1_CloudTrail-Digest_x.json"), []byte("not json"))
	write(t, filepath.Join(dir, "other/b.json"), good)
	for _, link := range []struct{ old, new string }{
		{"../other", "logs/linked-folder"},
		{"../other/b.json", "logs/linked-file.json"},
		{"..", "logs/loop"},
	} {
		if err := os.Symlink(link.old, filepath.Join(dir, link.new)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "logs"), filepath.Join(dir, "root-link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		inputs int
	}{
		{filepath.Join(dir, "logs"), 3},      // a.json, linked-file.json, linked-folder/b.json; the loop leads to dir, walked once
		{filepath.Join(dir, "root-link"), 3}, // a link to a folder is walked
		{dir, 3},                             // the same three, each folder once
	}
	for _, tt := range tests {
		got := hunt(t, &Hunter{Judge: detect.New(detect.Config{})}, nil, tt.path)
		if got.inputs != tt.inputs || len(got.errs) > 0 || len(got.findings) != tt.inputs {
			t.Errorf("%s: %d inputs, %d findings, want %d; errors %q", tt.path, got.inputs, len(got.findings), tt.inputs, got.errs)
		}
	}
}

// TestLinkToAbsolutePath: a folder reached by a relative path and by a
// link to its absolute path is walked once.
func TestLinkToAbsolutePath(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	write(t, filepath.Join(tree, "sub", "a.json"), readEvent(t, "public-invoke-addpermission-star.json"))
	if err := os.Symlink(tree, filepath.Join(tree, "sub", "loop")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got := hunt(t, &Hunter{Judge: detect.New(detect.Config{})}, nil, "tree", tree)
	if got.inputs != 1 || len(got.findings) != 1 || len(got.errs) > 0 {
		t.Errorf("%d inputs, %d findings, errors %q", got.inputs, len(got.findings), got.errs)
	}
}

// TestNotJSONIsReported: a file that is not JSON at all is decoded, and
// so reported, rather than passed over by the prefilter as holding no
// watched call; a file gzipped twice among them.
func TestNotJSONIsReported(t *testing.T) {
	dir := t.TempDir()
	grant := readEvent(t, "public-invoke-addpermission-star.json")
	gzipped := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		_, _ = zw.Write(b)
		_ = zw.Close()
		return out.Bytes()
	}
	files := map[string][]byte{
		"text.json":         []byte("these are not the records you are looking for\n"),
		"binary.json.gz":    {0x00, 0x01, 0x02, 0xff, 0xfe},
		"twice.json.gz":     gzipped(gzipped(grant)),
		"broken-gz.json.gz": gzipped(grant)[:40],
	}
	for name, b := range files {
		write(t, filepath.Join(dir, name), b)
	}
	got := hunt(t, &Hunter{Judge: detect.New(detect.Config{}), Prefilter: watched()}, nil, dir)
	for name := range files {
		if !slices.ContainsFunc(got.errs, func(e string) bool { return strings.HasPrefix(e, filepath.Join(dir, name)+": ") }) {
			t.Errorf("%s not reported: %q", name, got.errs)
		}
	}
	if got.skipped > 0 {
		t.Errorf("a file that could not be read counted as holding no watched call: %+v", got)
	}
}

// TestPrefilterChangesNothing: over an archive shaped as CloudTrail writes
// it, the findings with the prefilter are those of a full decode, and the
// prefilter skips the files with no watched call.
func TestPrefilterChangesNothing(t *testing.T) {
	dir := t.TempDir()
	w, err := cloudtrailtest.Write(dir, cloudtrailtest.Archive{Files: 200, RecordsPerFile: 20, WatchedEvery: 150, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	with := hunt(t, &Hunter{Judge: detect.New(detect.Config{}), Prefilter: watched()}, nil, dir)
	without := hunt(t, &Hunter{Judge: detect.New(detect.Config{})}, nil, dir)
	if !slices.Equal(with.findings, without.findings) || len(with.errs)+len(without.errs) > 0 {
		t.Fatalf("with the prefilter:\n%v\nwithout:\n%v", with, without)
	}
	if got := len(with.findings); got != w.Watched || got == 0 {
		t.Errorf("%d findings, want %d", got, w.Watched)
	}
	if with.skipped == 0 || with.skipped == 200 || with.skipped+with.decoded != 200 || without.skipped != 0 {
		t.Errorf("prefilter skipped %d of 200 files, decoded %d; without it skipped %d", with.skipped, with.decoded, without.skipped)
	}
}

// TestStreamedInputs: inputs too large to read whole are decoded as they
// come and give the same findings.
func TestStreamedInputs(t *testing.T) {
	h := &Hunter{Judge: detect.New(detect.Config{}), Min: detect.Info, Prefilter: watched()}
	whole := hunt(t, h, nil, events)
	h.WholeRead = 512
	streamed := hunt(t, h, nil, events)
	if !slices.Equal(streamed.findings, whole.findings) || len(whole.findings) == 0 || len(streamed.errs)+len(whole.errs) > 0 {
		t.Errorf("streamed:\n%v\nwhole:\n%v", streamed, whole)
	}
	if whole.skipped == 0 || streamed.skipped != 0 {
		t.Errorf("skipped %d read whole, %d streamed: streamed inputs skip no prefilter", whole.skipped, streamed.skipped)
	}
}

// TestMinSeverity: a Result carries the findings at or above Min only.
func TestMinSeverity(t *testing.T) {
	all := hunt(t, &Hunter{Judge: detect.New(sampleConfig), Min: detect.Info}, nil, events)
	high := hunt(t, &Hunter{Judge: detect.New(sampleConfig), Min: detect.High}, nil, events)
	if len(high.findings) == 0 || len(high.findings) >= len(all.findings) {
		t.Errorf("%d findings at HIGH, %d at INFO", len(high.findings), len(all.findings))
	}
}

// TestNoJudge: a Hunter without a Judge says so rather than panicking.
func TestNoJudge(t *testing.T) {
	got := hunt(t, &Hunter{}, nil, events)
	if got.inputs != 0 || len(got.errs) != 1 || !strings.Contains(got.errs[0], "no Judge") {
		t.Errorf("%+v", got)
	}
}

// progressLog records what a Progress hears.
type progressLog struct {
	mu                    sync.Mutex
	found, done, bytes    int
	walked                int
	foundAfterWalk, early bool
}

func (p *progressLog) Found() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.found++
	p.foundAfterWalk = p.foundAfterWalk || p.walked > 0
}

func (p *progressLog) Walked() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.walked++
}

func (p *progressLog) Done(res Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.bytes += int(res.Bytes)
	p.early = p.early || p.done > p.found
}

// TestProgress: every input found is reported done, with its bytes, and
// the walk's end comes once, after the last input found.
func TestProgress(t *testing.T) {
	var p progressLog
	h := &Hunter{Judge: detect.New(detect.Config{}), Progress: &p}
	var inputs, bytes int
	for res := range h.Hunt(context.Background(), []string{events, filepath.Join(events, "no-such-file.json")}, nil) {
		if res.Input {
			inputs++
		}
		bytes += int(res.Bytes)
	}
	if p.found != inputs || p.done != inputs || p.bytes != bytes || inputs == 0 || bytes == 0 {
		t.Errorf("%d inputs of %d bytes; heard %d found, %d done of %d bytes", inputs, bytes, p.found, p.done, p.bytes)
	}
	if p.walked != 1 || p.foundAfterWalk || p.early {
		t.Errorf("walked %d times; found after the walk: %v; done before found: %v", p.walked, p.foundAfterWalk, p.early)
	}
}
