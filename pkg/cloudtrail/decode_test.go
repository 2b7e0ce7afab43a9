package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

const rec1 = `{"eventVersion":"1.08","eventID":"e1","eventTime":"2026-11-20T10:00:00Z","eventSource":"lambda.amazonaws.com","eventName":"AddPermission20150331v2","awsRegion":"eu-west-1","recipientAccountId":"111122223333","requestParameters":{"principal":"*"}}`
const rec2 = `{"eventID":"e2","eventTime":"2026-11-20T10:01:00Z","eventSource":"lambda.amazonaws.com","eventName":"CreateFunctionUrlConfig","awsRegion":"eu-west-1","recipientAccountId":"111122223333"}`

func eventBridge(detail string) string {
	return `{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","account":"111122223333","time":"2026-11-20T10:00:00Z","region":"eu-west-1","resources":[],"detail":` + detail + `}`
}

func gz(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkDecode decodes input, plain and gzipped, and checks the records'
// IDs and, in order, a part of each error.
func checkDecode(t *testing.T, input string, wantIDs, wantErrs []string) {
	t.Helper()
	for _, in := range []string{input, gz(t, input)} {
		ids, errs := collect(in)
		if strings.Join(ids, ",") != strings.Join(wantIDs, ",") {
			t.Errorf("records = %v, want %v", ids, wantIDs)
		}
		if len(errs) != len(wantErrs) {
			t.Fatalf("errors = %q, want %d matching %q", errs, len(wantErrs), wantErrs)
		}
		for i, want := range wantErrs {
			if !strings.Contains(errs[i], want) {
				t.Errorf("error %d = %q, want it to contain %q", i, errs[i], want)
			}
		}
	}
}

// collect runs Decode and returns the event IDs of good records and the
// error texts, in order.
func collect(input string) (ids, errs []string) {
	for rec, err := range Decode(strings.NewReader(input)) {
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		ids = append(ids, rec.EventID)
	}
	return ids, errs
}

// envelopeTests are inputs of every shape, valid and broken, with the
// records and errors they decode to.
var envelopeTests = []struct {
	name     string
	input    string
	wantIDs  []string
	wantErrs []string // substrings, in order
}{
	{"bare record", rec1, []string{"e1"}, nil},
	{"eventbridge event", eventBridge(rec1), []string{"e1"}, nil},
	{"log file", `{"Records":[` + rec1 + `,` + rec2 + `]}`, []string{"e1", "e2"}, nil},
	{"array of bare records", `[` + rec1 + `,` + rec2 + `]`, []string{"e1", "e2"}, nil},
	{"array of eventbridge events", `[` + eventBridge(rec1) + `,` + eventBridge(rec2) + `]`, []string{"e1", "e2"}, nil},
	{"array mixing envelopes", `[` + eventBridge(rec1) + `,{"Records":[` + rec2 + `]}]`, []string{"e1", "e2"}, nil},
	{"json lines", rec1 + "\n\n" + eventBridge(rec2) + "\n", []string{"e1", "e2"}, nil},
	{"json lines with crlf", rec1 + "\r\n" + rec2 + "\r\n", []string{"e1", "e2"}, nil},
	{"pretty printed", "{\n  \"Records\": [\n" + rec1 + "\n]\n}\n", []string{"e1"}, nil},
	{"concatenated documents", "{\n \"Records\": [" + rec1 + "]\n}\n" + eventBridge(rec2), []string{"e1", "e2"}, nil},
	{"byte order mark", "\xef\xbb\xbf" + rec1, []string{"e1"}, nil},
	{"log file with Records not first", `{"x":1,"Records":[` + rec1 + `]}`, []string{"e1"}, nil},
	{"log file with spaces", "{ \"Records\" :\n [ " + rec1 + " ] }", []string{"e1"}, nil},
	{"log file inside an array", `[{"Records":[` + rec1 + `]},{"Records":[` + rec2 + `]}]`, []string{"e1", "e2"}, nil},
	{"empty", "  \n", nil, nil},
	{"empty log file", `{"Records":[]}`, nil, nil},
	{"null records", `{"Records":null}`, nil, nil},
	{"other detail type is skipped", `{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`, nil, nil},
	{
		"bad line in json lines hides nothing",
		rec1 + "\n{\"eventID\": broken\n" + rec2 + "\n",
		[]string{"e1", "e2"},
		[]string{"record 2 (line 2): invalid JSON"},
	},
	{
		"bad record in log file hides nothing",
		`{"Records":[` + rec1 + `,{"eventID":"bad","eventName":"AddPermission","eventTime":"yesterday"},` + rec2 + `]}`,
		[]string{"e1", "e2"},
		[]string{"record 2: field eventTime"},
	},
	{
		"wrong type names the field",
		`[` + rec1 + `,{"eventName":"X","userIdentity":{"arn":7}}]`,
		[]string{"e1"},
		[]string{"record 2: field userIdentity.arn: want string, got JSON number"},
	},
	{
		"object that is not a record",
		`[{"hello":"world"},` + rec2 + `]`,
		[]string{"e2"},
		[]string{"record 1: not a CloudTrail record"},
	},
	{"scalar", `42`, nil, []string{"record 1: want a JSON object"}},
	{"records not a list", `{"Records":{"a":1}}`, nil, []string{"record 1: Records is not a list"}},
	{"eventbridge without detail", `{"detail-type":"AWS API Call via CloudTrail","account":"1"}`, nil, []string{"record 1: EventBridge event \"\" has no detail object"}},
	{"broken log file keeps the records before the break", "{\n \"Records\": [\n" + rec1 + ",\n", []string{"e1"}, []string{"record 2 (line 4): invalid JSON: unexpected EOF"}}, // the line the input ends on
	{"broken record in the middle of a log file hides nothing", `{"Records":[` + rec1 + `,{"eventID": nope},` + rec2 + `]}`, []string{"e1", "e2"}, []string{"record 2 (line 1): invalid JSON: invalid character 'o' in literal null"}},
	{"unmatched bracket in a record hides nothing", `{"Records":[` + rec1 + `,{"eventID":["e9"},` + rec2 + `]}`, []string{"e1", "e2"}, []string{"record 2 (line 1): invalid JSON"}},
	{"broken array of records hides nothing", `[` + rec1 + `,{"eventID": nope},` + rec2 + `]`, []string{"e1", "e2"}, []string{"record 2 (line 1): invalid JSON"}},
	{"missing comma hides nothing", `{"Records":[` + rec1 + ` ` + rec2 + `]}`, []string{"e1", "e2"}, []string{"record 2 (line 1): invalid JSON: invalid character '{' after array element"}},
	{"bad separator ends the log file", `{"Records":[` + rec1 + `;` + rec2 + `]}`, []string{"e1"}, []string{"record 2 (line 1): invalid JSON: invalid character ';' after array element"}},
	{"line break in a string ends the line", rec1 + "\n{\"eventID\": \"e\n" + rec2 + "\n", []string{"e1", "e2"}, []string{`record 2 (line 2): invalid JSON: invalid character '\n' in string literal`}},
	{"unclosed string in JSON Lines", rec1 + "\n{\"eventID\": \"e}\n" + rec2 + "\n" + rec1 + "\n", []string{"e1", "e2", "e1"}, []string{"record 2 (line 2): invalid JSON"}},
	{"scalar in a log file", `{"Records":[` + rec1 + `,tru,` + rec2 + `]}`, []string{"e1"}, []string{"record 2 (line 1): invalid JSON: invalid character ',' in literal true"}},
	{"trailing comma", `{"Records":[` + rec1 + `,]}`, []string{"e1"}, []string{"record 2 (line 1): invalid JSON: invalid character ']' looking for beginning of value"}},
	{"broken log file, records on their own lines", "{\"Records\":[\n" + rec1 + ",\n{\"eventID\": nope},\n" + rec2 + "\n]}", []string{"e1", "e2"}, []string{"record 2 (line 3): invalid JSON"}},
	{"broken first line hides nothing", "{\"eventID\": trunc\n" + rec1 + "\n" + rec2 + "\n", []string{"e1", "e2"}, []string{"record 1 (line 1): invalid JSON"}},
	{"concatenated without newlines, middle broken", eventBridge(rec1) + `{"detail-type": oops}` + eventBridge(rec2), []string{"e1", "e2"}, []string{"record 2 (line 1): invalid JSON"}},
	{"skipped events keep their places", `[{"detail-type":"Scheduled Event","detail":{}},{"Records":null},42]`, nil, []string{"record 3: want a JSON object"}},
	{"broken log file then a stray closing line", "{\"Records\":[\n" + rec1 + ",\n{\"eventID\": nope},\n" + rec2 + "\n]}\n" + rec2, []string{"e1", "e2", "e2"}, []string{"record 2 (line 3): invalid JSON"}},
	{"digest file", `{"awsAccountId":"111122223333","digestStartTime":"2026-11-20T10:00:00Z","logFiles":[]}`, nil, nil},
	{"log file with garbage after it", `{"Records":[` + rec1 + `]} xyz`, []string{"e1"}, []string{"invalid JSON"}},
	{"log file with a key after Records", `{"Records":[` + rec1 + `],"x":{"y":[1]}}` + "\n" + eventBridge(rec2), []string{"e1", "e2"}, nil},
	{"log file broken after Records", `{"Records":[` + rec1 + `],"x":}`, []string{"e1"}, []string{"record 2 (line 1): after the Records list"}},
	{"broken document", "{\n \"detail-type\": \"AWS API Call via CloudTrail\",\n \"detail\": " + rec1 + ",\n", nil, []string{"record 1 (line 4): invalid JSON"}},
	{"deep nesting", strings.Repeat("[", 10) + rec1 + strings.Repeat("]", 10), nil, []string{"nested deeper than"}},
	{"eventbridge fills account and region", eventBridge(`{"eventID":"e3","eventName":"AddPermission","eventSource":"lambda.amazonaws.com"}`), []string{"e3"}, nil},
}

func TestDecodeEnvelopes(t *testing.T) {
	for _, tt := range envelopeTests {
		t.Run(tt.name, func(t *testing.T) {
			checkDecode(t, tt.input, tt.wantIDs, tt.wantErrs)
		})
	}
}

func TestDecodeFillsFromEnvelope(t *testing.T) {
	in := eventBridge(`{"eventID":"e3","eventName":"AddPermission"}`)
	n := 0
	for rec, err := range Decode(strings.NewReader(in)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if rec.RecipientAccountID != "111122223333" || rec.AWSRegion != "eu-west-1" || rec.EventSource != LambdaSource || !rec.EventTime.Equal(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("account, region, source, time = %q, %q, %q, %v; want the envelope's", rec.RecipientAccountID, rec.AWSRegion, rec.EventSource, rec.EventTime)
		}
		if rec.Position != "record 1" {
			t.Errorf("position %q", rec.Position)
		}
	}
	if n != 1 {
		t.Errorf("%d records", n)
	}
	// The record's own fields win over the envelope's.
	for rec, err := range Decode(strings.NewReader(eventBridge(`{"eventID":"e4","eventName":"X","recipientAccountId":"999988887777","awsRegion":"us-east-1"}`))) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if rec.RecipientAccountID != "999988887777" || rec.AWSRegion != "us-east-1" {
			t.Errorf("account, region = %q, %q; want the record's", rec.RecipientAccountID, rec.AWSRegion)
		}
	}
}

// TestDecodeBrokenGzip: a truncated file keeps the records before the
// break, and says where the stream broke.
func TestDecodeBrokenGzip(t *testing.T) {
	// Records that do not compress away, so that a cut stream holds some.
	rng := rand.New(rand.NewPCG(1, 2))
	var recs []string
	for i := range 50 {
		recs = append(recs, fmt.Sprintf(`{"eventID":"r%d","eventName":"AddPermission","userAgent":"%x"}`, i, rng.Uint64()))
	}
	z := gz(t, `{"Records":[`+strings.Join(recs, ",")+`]}`)
	ids, errs := collect(z[:len(z)*2/3])
	if len(ids) == 0 || len(ids) > 50 {
		t.Errorf("%d records before the break", len(ids))
	}
	if len(errs) != 2 || !strings.Contains(errs[0], "invalid JSON") || !strings.Contains(errs[1], "gzip: after ") {
		t.Errorf("errors = %q, want the broken record, then the gzip error", errs)
	}
	// Trailing bytes after a whole gzip member.
	ids, errs = collect(gz(t, `{"Records":[`+rec1+`]}`) + "\x00\x00\x00")
	if len(ids) != 1 || len(errs) != 1 || !strings.Contains(errs[0], "gzip") {
		t.Errorf("trailing zeros: records %v, errors %q", ids, errs)
	}
}

// TestDecodeManyDocuments: a million concatenated log files (zcat of an
// archive) decode without recursion.
func TestDecodeManyDocuments(t *testing.T) {
	in := strings.Repeat(`{"Records":[]}`+"\n", 1_000_000) + `{"Records":[` + rec1 + `],"x":1}` + strings.Repeat(`{"Records":[],"y":[1]}`, 10_000) + eventBridge(rec2)
	ids, errs := collect(in)
	if strings.Join(ids, ",") != "e1,e2" || len(errs) != 0 {
		t.Errorf("records %v, errors %q", ids, errs)
	}
}

func TestDecodeInputTooLarge(t *testing.T) {
	ir := InputReader{Limit: 1 << 20}
	z := gz(t, strings.Repeat(" ", ir.Limit+1))
	if _, err := ir.Read(strings.NewReader(z)); err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Errorf("an input over the limit: %v", err)
	}
}

func TestDecodeStopsWhenAsked(t *testing.T) {
	n := 0
	for range Decode(strings.NewReader(`[` + rec1 + `,` + rec2 + `,` + rec1 + `]`)) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("got %d records after break", n)
	}
}

func TestDecodeRealRecords(t *testing.T) {
	tests := []struct {
		file  string
		names []string
	}{
		{"testdata/stratus-red-team-addpermission-public.json", []string{"AddPermission20150331v2"}},
		{"testdata/stratus-red-team-update-function-configuration-layer.json", []string{"UpdateFunctionConfiguration20150331v2"}},
		{"testdata/aws-docs-s3-log-file-with-failed-call.json", []string{"GetFunction", "DeleteFunction"}},
		{"testdata/aws-docs-s3-log-file-with-failed-call.json.gz", []string{"GetFunction", "DeleteFunction"}},
	}
	for _, tt := range tests {
		f, err := os.Open(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rec, err := range Decode(f) {
			if err != nil {
				t.Errorf("%s: %v", tt.file, err)
				continue
			}
			if rec.EventSource != LambdaSource || rec.EventTime.IsZero() || rec.Actor() == "" {
				t.Errorf("%s: %s: source %q, time %v, actor %q", tt.file, rec.EventName, rec.EventSource, rec.EventTime, rec.Actor())
			}
			names = append(names, rec.EventName)
		}
		f.Close()
		if strings.Join(names, ",") != strings.Join(tt.names, ",") {
			t.Errorf("%s: names = %v, want %v", tt.file, names, tt.names)
		}
	}
}

func TestStripVersion(t *testing.T) {
	tests := map[string]string{
		"AddPermission20150331v2":               "AddPermission",
		"AddPermission20150331":                 "AddPermission",
		"AddPermission":                         "AddPermission",
		"AddLayerVersionPermission20181031":     "AddLayerVersionPermission",
		"CreateFunction20150331":                "CreateFunction",
		"UpdateFunctionConfiguration20150331v2": "UpdateFunctionConfiguration",
		"PutFunctionConcurrency20171031":        "PutFunctionConcurrency",
		"CreateFunctionUrlConfig":               "CreateFunctionUrlConfig",
		"UpdateFunctionCode20150331v2":          "UpdateFunctionCode",
		"ListFunctions20150331v12":              "ListFunctions",
		"Invoke":                                "Invoke",
		"v2":                                    "v2",
		"20150331":                              "20150331",
		"X2015033v2":                            "X2015033v2",
		"":                                      "",
	}
	for in, want := range tests {
		if got := StripVersion(in); got != want {
			t.Errorf("StripVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestActor(t *testing.T) {
	tests := []struct {
		u    UserIdentity
		want string
	}{
		{UserIdentity{ARN: "arn:aws:iam::1:user/a", InvokedBy: "x"}, "arn:aws:iam::1:user/a"},
		{UserIdentity{Type: "AWSService", InvokedBy: "cloudformation.amazonaws.com"}, "cloudformation.amazonaws.com"},
		{UserIdentity{PrincipalID: "AIDA"}, "AIDA"},
		{UserIdentity{Type: "Root"}, "Root"},
		{UserIdentity{}, ""},
	}
	for _, tt := range tests {
		if got := (Record{UserIdentity: tt.u}).Actor(); got != tt.want {
			t.Errorf("Actor(%+v) = %q, want %q", tt.u, got, tt.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{rec1, eventBridge(rec1), `{"Records":[` + rec1 + `]}`, rec1 + "\n" + rec2, `[[{}]]`, `{"Records":"x"}`, "\x1f\x8b", `{"detail-type":"AWS API Call via CloudTrail","detail":[]}`, athenaRow1, `{"eventname":"X","requestparameters":"{"}`} {
		f.Add([]byte(s))
	}
	addFiles(f, "testdata/stratus-red-team-addpermission-public.json", "testdata/aws-docs-s3-log-file-with-failed-call.json.gz", "testdata/broken/*.json*")
	f.Fuzz(func(t *testing.T, data []byte) {
		for rec, err := range Decode(bytes.NewReader(data)) {
			if err == nil && rec.EventName == "" && rec.EventSource == "" {
				t.Errorf("a record with no name nor source came without an error")
			}
			if err != nil && rec.EventID != "" {
				t.Errorf("an error came with a record: %v", err)
			}
		}
	})
}

// addFiles adds the files that match the patterns to f's corpus.
func addFiles(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil || len(files) == 0 {
			f.Fatalf("%s: %v", p, err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, ".golden") {
				continue
			}
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzDecodeStream: whatever the input, streaming it through any window
// yields what decoding it whole does, and a keep func changes only which
// records are decoded, never where one ends.
func FuzzDecodeStream(f *testing.F) {
	for _, tt := range envelopeTests {
		f.Add([]byte(tt.input), uint16(7))
	}
	f.Add([]byte(rec1+"\n12345"), uint16(3))
	f.Add([]byte(strings.Repeat("{\"a\":[", 70)+"1"+strings.Repeat("]}", 70)), uint16(5))
	keep := func(b []byte) bool { return len(b)%3 != 0 }
	f.Fuzz(func(t *testing.T, data []byte, size uint16) {
		for _, keep := range []func([]byte) bool{nil, keep} {
			want := outcome(DecodeBytes(data, keep))
			got := outcome(decodeStream(iotest.OneByteReader(bytes.NewReader(data)), keep, int(size)+1))
			if !slices.Equal(got, want) {
				t.Fatalf("window %d:\n%s\nwhole:\n%s", size+1, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
		// Records keep passes come as they come without it.
		all := outcome(DecodeBytes(data, nil))
		some := outcome(DecodeBytes(data, keep))
		for _, s := range some {
			if !strings.HasPrefix(s, "error: ") && !slices.Contains(all, s) {
				t.Fatalf("with keep, %q; without:\n%s", s, strings.Join(all, "\n"))
			}
		}
	})
}
