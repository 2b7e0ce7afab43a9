package prefilter_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/prefilter"
)

// watched lists every call any rule reads: the filter the scan builds.
func watched() []string {
	var names []string
	for _, s := range detect.Watched {
		names = append(names, s.Actions...)
	}
	return names
}

const other = `{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"},"eventTime":"2026-11-20T10:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"eu-west-1","requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/fn","roleSessionName":"fn"},"responseElements":null,"eventID":"o1","recipientAccountId":"111122223333"}`

func logFile(records ...string) []byte {
	return []byte(`{"Records":[` + strings.Join(records, ",") + `]}`)
}

func record(source, name string) string {
	return `{"eventVersion":"1.08","eventTime":"2026-11-20T10:00:00Z","eventSource":"` + source + `","eventName":"` + name + `","awsRegion":"eu-west-1","requestParameters":{"principal":"*","functionName":"f"},"eventID":"e1","recipientAccountId":"111122223333"}`
}

func TestMatch(t *testing.T) {
	f := prefilter.New(watched())
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"other services only", logFile(other, other), false},
		{"empty", nil, false},
		{"Lambda read calls", logFile(record("lambda.amazonaws.com", "GetFunction20150331v2"), record("lambda.amazonaws.com", "ListFunctions20150331")), false},
		{"a grant among others", logFile(other, record("lambda.amazonaws.com", "AddPermission20150331v2"), other), true},
		{"a name without suffix", logFile(record("lambda.amazonaws.com", "CreateFunctionUrlConfig")), true},
		{"a name spelt with an escape", logFile(record("lambda.amazonaws.com", `\u0041ddPermission20150331v2`)), true},
		{"an escape anywhere", logFile(other, `{"userAgent":"\u00e9"}`), true},
		// The decoder refuses a name under a key CloudTrail does not write.
		{"keys in another case", []byte(`{"EVENTSOURCE":"lambda.amazonaws.com","EVENTNAME":"AddPermission"}`), false},
		{"a name inside another string", logFile(`{"eventSource":"iam.amazonaws.com","eventName":"PutRolePolicy","requestParameters":{"policyDocument":"{\"Action\":\"lambda:AddPermission\"}"}}`), false},
		{"spaces around the colon", []byte("{\"eventSource\":\"lambda.amazonaws.com\",\"eventName\" :\n \"AddPermission\"}"), true},
		{"an Athena row", []byte(`{"eventsource":"lambda.amazonaws.com","eventname":"AddPermission20150331v2"}`), true},
		{"a name nested in another record", logFile(`{"eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{"eventName":"AddPermission"}}`), true},
		{"a name in another case", logFile(record("lambda.amazonaws.com", "addpermission")), false},
	}
	for _, s := range detect.Watched {
		for _, a := range s.Actions {
			tests = append(tests, struct {
				name string
				in   []byte
				want bool
			}{s.Source + " " + a, logFile(other, record(s.EventSource, a+"20150331")), true})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.Match(tt.in); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

// judge decodes b in full and returns the findings at any severity.
func judge(b []byte) []detect.Finding {
	e := detect.New(detect.Config{Now: func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }})
	var all []detect.Finding
	for rec, err := range cloudtrail.Decode(bytes.NewReader(b)) {
		if err != nil {
			continue
		}
		fs, _ := e.Judge(rec)
		all = append(all, fs...)
	}
	return all
}

// samples are the repository's sample events, decompressed.
func samples(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir("../../events", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !cloudtrail.RecordFile(d.Name()) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("only %d sample files", len(out))
	}
	return out
}

// TestNeverDropsASample: every sample file that raises a finding when
// decoded in full passes the filter. Sample files are plain JSON; the
// gzipped ones are left to FuzzMatch's property, as the filter reads
// decompressed bytes.
func TestNeverDropsASample(t *testing.T) {
	f := prefilter.New(watched())
	flagged := 0
	for path, b := range samples(t) {
		if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			continue
		}
		if len(judge(b)) > 0 {
			flagged++
			if !f.Match(b) {
				t.Errorf("%s: raises findings but the filter drops it", path)
			}
		}
	}
	if flagged < 20 {
		t.Errorf("only %d sample files raise findings; the test proves little", flagged)
	}
}

// FuzzMatch is the filter's promise: whatever the bytes, when the filter
// drops them a full decode finds nothing either.
func FuzzMatch(f *testing.F) {
	for _, b := range samples(f) {
		if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			f.Add(b)
		}
	}
	f.Add(logFile(other, record("lambda.amazonaws.com", "AddPermission20150331v2")))
	f.Add([]byte(`{"EventSource":"LAMBDA.amazonaws.com","EventName":"AddPermission","RequestParameters":{"Principal":"*","FunctionName":"f"}}`))
	f.Add([]byte(`{"eventSource":"lambda.amazonaws.com","eventName":"\u0041ddPermission","requestParameters":{"principal":"*","functionName":"f"}}`))
	filter := prefilter.New(watched())
	f.Fuzz(func(t *testing.T, b []byte) {
		if filter.Match(b) {
			return
		}
		if fs := judge(b); len(fs) > 0 {
			t.Fatalf("the filter dropped input that raises %s (%s)", fs[0].Rule, fs[0].EventName)
		}
	})
}

// BenchmarkMatch runs the filter over a log file shaped as CloudTrail
// writes them (40 records, no watched call: what it sees most) and over
// one of its records, as a hunt does for each record of a file it keeps.
func BenchmarkMatch(b *testing.B) {
	w, err := cloudtrailtest.Write(b.TempDir(), cloudtrailtest.Archive{Files: 1, RecordsPerFile: 40, Seed: 5})
	if err != nil {
		b.Fatal(err)
	}
	z, err := os.ReadFile(w.Paths[0])
	if err != nil {
		b.Fatal(err)
	}
	var ir cloudtrail.InputReader
	data, err := ir.Read(bytes.NewReader(z))
	if err != nil {
		b.Fatal(err)
	}
	record := data[bytes.IndexByte(data, '[')+1:]
	record = record[:bytes.Index(record, []byte(`},{"eventVersion"`))+1]
	f := prefilter.New(watched())
	for name, in := range map[string][]byte{"file": data, "record": record} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if f.Match(in) {
					b.Fatal("a watched call")
				}
			}
		})
	}
}

// findings decodes b whole with keep and judges each record; it returns
// the findings, at any severity, one line each.
func findings(b []byte, keep func([]byte) bool) []string {
	e := detect.New(detect.Config{Now: func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }})
	var out []string
	for rec, err := range cloudtrail.DecodeBytes(b, keep) {
		if err != nil {
			continue
		}
		fs, _ := e.Judge(rec)
		for _, f := range fs {
			out = append(out, rec.Position+" "+f.Rule+" "+f.EventID)
		}
	}
	return out
}

// FuzzKeep is the filter's promise record by record, which a hunt relies
// on within the files it keeps: whatever the bytes, decoding only the
// records the filter passes finds what decoding every record finds.
func FuzzKeep(f *testing.F) {
	for _, b := range samples(f) {
		if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			f.Add(b)
		}
	}
	broken, err := filepath.Glob("../cloudtrail/testdata/broken/*.json*")
	if err != nil || len(broken) == 0 {
		f.Fatalf("broken samples: %v", err)
	}
	for _, p := range broken {
		if strings.HasSuffix(p, ".golden") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(logFile(other, record("lambda.amazonaws.com", "AddPermission20150331v2"), `{"eventName":"GetObject","x":tru}`, record("lambda.amazonaws.com", "AddPermission20150331v2")))
	filter := prefilter.New(watched())
	f.Fuzz(func(t *testing.T, b []byte) {
		all := findings(b, nil)
		if kept := findings(b, filter.Match); !slices.Equal(kept, all) {
			t.Fatalf("through the filter:\n%s\nwithout:\n%s", strings.Join(kept, "\n"), strings.Join(all, "\n"))
		}
	})
}
