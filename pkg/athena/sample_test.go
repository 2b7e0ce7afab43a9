package athena

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// The sample of UNLOAD output: what Athena writes for hunt.sql over a
// table holding the records in events/. File names as Trino, Athena's
// engine, gives a query's files: <query id>_<UUID>, and .gz for a
// compressed text format (HiveWriterFactory.computeFileName and
// getFileExtension).
const eventsDir = "../../events"

var sampleFiles = []string{
	"testdata/unload/20261127_093015_00042_ab3cd_0c7d5e1a-6f2b-4c3e-9a8d-41b2f0e9c7a5.gz",
	"testdata/unload/20261127_093015_00042_ab3cd_e94f1b06-2d7a-4b85-8c13-5a6e0d2f9b48.gz",
}

// column is one column of the CloudTrail table, as create-cloudtrail-table
// in the Athena User Guide declares it: a string, a struct of columns, an
// array of structs, or a map of strings.
type column struct {
	name   string
	fields []column // a struct
	array  bool     // an array of the struct
	mapped bool     // map<string,string>
}

func str(name string) column                   { return column{name: name} }
func st(name string, fs ...column) column      { return column{name: name, fields: fs} }
func arrayOf(name string, fs ...column) column { return column{name: name, fields: fs, array: true} }

// table is the User Guide's cloudtrail_logs, column for column, up to
// eventcategory (later columns hold nothing the rules read).
var table = []column{
	str("eventversion"),
	st("useridentity",
		str("type"), str("principalid"), str("arn"), str("accountid"), str("invokedby"), str("accesskeyid"), str("username"),
		st("onbehalfof", str("userid"), str("identitystorearn")),
		st("sessioncontext",
			st("attributes", str("mfaauthenticated"), str("creationdate")),
			st("sessionissuer", str("type"), str("principalid"), str("arn"), str("accountid"), str("username")),
			str("ec2roledelivery"),
			st("webidfederationdata", str("federatedprovider"), column{name: "attributes", mapped: true}),
		),
	),
	str("eventtime"), str("eventsource"), str("eventname"), str("awsregion"), str("sourceipaddress"), str("useragent"),
	str("errorcode"), str("errormessage"), str("requestparameters"), str("responseelements"), str("additionaleventdata"),
	str("requestid"), str("eventid"),
	arrayOf("resources", str("arn"), str("accountid"), str("type")),
	str("eventtype"), str("apiversion"), str("readonly"), str("recipientaccountid"), str("serviceeventdetails"),
	str("sharedeventid"), str("vpcendpointid"), str("vpcendpointaccountid"), str("eventcategory"),
}

// field is one key of a JSON object written in order, as Athena writes
// the columns in the query's order.
type field struct {
	key string
	val any // nil, string, []field, []any
}

// lookup finds key in obj as the CloudTrail SerDe matches columns to a
// record's keys: without regard to case.
func lookup(obj map[string]json.RawMessage, key string) json.RawMessage {
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// cell gives the value of column c for raw, a record's value.
func cell(c column, raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch {
	case c.array:
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		out := []any{}
		for _, e := range elems {
			v, err := cell(column{name: c.name, fields: c.fields}, e)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case c.fields != nil:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		return row(c.fields, obj)
	case c.mapped:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range obj {
				if !yield(k) {
					return
				}
			}
		})
		var out []field
		for _, k := range keys {
			v, err := cell(str(k), obj[k])
			if err != nil {
				return nil, err
			}
			out = append(out, field{k, v})
		}
		return out, nil
	}
	// A string column: a string as it is; an object, array, number or
	// boolean as its JSON text (requestparameters, readonly).
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func row(cols []column, obj map[string]json.RawMessage) ([]field, error) {
	out := make([]field, 0, len(cols))
	for _, c := range cols {
		v, err := cell(c, lookup(obj, c.name))
		if err != nil {
			return nil, err
		}
		out = append(out, field{c.name, v})
	}
	return out, nil
}

// writeJSON writes v compactly, strings unescaped beyond what JSON needs,
// as Athena's JSON writer (Jackson) does.
func writeJSON(w *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		w.WriteString("null")
	case string:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v) // a string always encodes
		w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	case []field:
		w.WriteByte('{')
		for i, f := range v {
			if i > 0 {
				w.WriteByte(',')
			}
			writeJSON(w, f.key)
			w.WriteByte(':')
			writeJSON(w, f.val)
		}
		w.WriteByte('}')
	case []any:
		w.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				w.WriteByte(',')
			}
			writeJSON(w, e)
		}
		w.WriteByte(']')
	}
}

// rawRecord is one record of events/, whole, as CloudTrail's S3 log file
// holds it.
type rawRecord struct {
	file string
	obj  map[string]json.RawMessage
}

// rawRecords reads every record in events/, in file order: the records
// the Athena table would hold. EventBridge events give their detail, with
// what the envelope says filled in as the log file has it.
func rawRecords(t *testing.T) []rawRecord {
	t.Helper()
	var out []rawRecord
	err := filepath.WalkDir(eventsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !cloudtrail.RecordFile(d.Name()) {
			return err
		}
		data, err := readMaybeGzip(path)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var v json.RawMessage
			if err := dec.Decode(&v); err == io.EOF {
				break
			} else if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			recs, err := recordsIn(v)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			for _, r := range recs {
				out = append(out, rawRecord{file: path, obj: r})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func recordsIn(v json.RawMessage) ([]map[string]json.RawMessage, error) {
	if v[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(v, &elems); err != nil {
			return nil, err
		}
		var out []map[string]json.RawMessage
		for _, e := range elems {
			recs, err := recordsIn(e)
			if err != nil {
				return nil, err
			}
			out = append(out, recs...)
		}
		return out, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		return nil, err
	}
	if recs, ok := obj["Records"]; ok {
		return recordsIn(recs)
	}
	detail, ok := obj["detail"]
	if !ok {
		return []map[string]json.RawMessage{obj}, nil
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(detail, &rec); err != nil {
		return nil, err
	}
	var source string
	if err := json.Unmarshal(obj["source"], &source); err != nil {
		return nil, err
	}
	for key, from := range map[string]json.RawMessage{
		"recipientAccountId": obj["account"],
		"awsRegion":          obj["region"],
		"eventTime":          obj["time"],
		"eventSource":        json.RawMessage(fmt.Sprintf("%q", strings.TrimPrefix(source, "aws.")+".amazonaws.com")),
	} {
		if lookup(rec, key) == nil {
			rec[key] = from
		}
	}
	return []map[string]json.RawMessage{rec}, nil
}

func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		return data, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// selected says whether hunt.sql selects rec: the predicate read from the
// SQL text, so that the sample follows the query as written.
func selected(hunted map[string][]string, rec map[string]json.RawMessage) bool {
	var source, name string
	_ = json.Unmarshal(lookup(rec, "eventSource"), &source)
	_ = json.Unmarshal(lookup(rec, "eventName"), &name)
	for _, prefix := range hunted[source] {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// sampleLines builds the lines of each sample file from events/.
func sampleLines(t *testing.T) [][]byte {
	t.Helper()
	hunted, err := watchedInSQL(Query)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]byte
	for _, r := range rawRecords(t) {
		if !selected(hunted, r.obj) {
			continue
		}
		fields, err := row(table, r.obj)
		if err != nil {
			t.Fatalf("%s: %v", r.file, err)
		}
		var b bytes.Buffer
		writeJSON(&b, fields)
		b.WriteByte('\n')
		rows = append(rows, b.Bytes())
	}
	// UNLOAD writes in parallel, each writer its own file.
	out := make([][]byte, len(sampleFiles))
	for i, r := range rows {
		out[i%len(out)] = append(out[i%len(out)], r...)
	}
	return out
}

// TestSampleUpToDate: the committed sample is what events/ and hunt.sql
// give (compared decompressed: gzip's bytes vary with its version).
func TestSampleUpToDate(t *testing.T) {
	want := sampleLines(t)
	if *update {
		if err := os.MkdirAll("testdata/unload", 0o755); err != nil {
			t.Fatal(err)
		}
		for i, name := range sampleFiles {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(want[i])
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, name := range sampleFiles {
		got, err := readMaybeGzip(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[i]) {
			t.Errorf("%s is not what events/ and hunt.sql give: run go test ./pkg/athena -run TestSampleUpToDate -update", name)
		}
	}
}

var judgeConfig = detect.Config{
	TrustedAccounts: []string{"444455556666"},
	OrgID:           "o-a1b2c3d4e5",
	Now:             func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) },
}

// judge decodes and judges files, returning the findings as JSON texts,
// sorted (UNLOAD's files have no order among them), and the records.
func judge(t *testing.T, files []string) (findings []string, records []cloudtrail.Record) {
	t.Helper()
	engine := detect.New(judgeConfig)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		for rec, err := range cloudtrail.Decode(f) {
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			records = append(records, rec)
			fs, err := engine.Judge(rec)
			if err != nil {
				t.Errorf("%s: %s: %v", name, rec.Position, err)
			}
			for _, f := range fs {
				b, err := json.Marshal(f)
				if err != nil {
					t.Fatal(err)
				}
				findings = append(findings, string(b))
			}
		}
		f.Close()
	}
	slices.Sort(findings)
	return findings, records
}

func eventFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(eventsDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && cloudtrail.RecordFile(d.Name()) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestSampleJudgesAlike: judging Athena's results gives exactly the
// findings that judging every original record gives: the query loses no
// record a rule reads, and the decoder reads a row as the record it was.
func TestSampleJudgesAlike(t *testing.T) {
	want, originals := judge(t, eventFiles(t))
	got, rows := judge(t, sampleFiles)
	if len(want) == 0 {
		t.Fatal("the original records raise no finding")
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings from the Athena results differ from the originals'\n got %d:\n  %s\nwant %d:\n  %s", len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
	// Record for record: each row reads as its original record.
	byID := map[string]cloudtrail.Record{}
	for _, r := range originals {
		byID[r.EventID] = r
	}
	for _, r := range rows {
		o, ok := byID[r.EventID]
		if !ok {
			t.Errorf("row %s: no original record", r.EventID)
			continue
		}
		if d := recordDiff(o, r); d != "" {
			t.Errorf("row %s: %s", r.EventID, d)
		}
	}
	// The sample holds what a hunt must judge: a grant with
	// its stored statement, a function URL, a layer permission.
	for _, want := range []struct{ name, in string }{
		{"AddPermission", "statement"}, {"CreateFunctionUrlConfig", "authType"}, {"AddLayerVersionPermission", "statement"},
	} {
		if !slices.ContainsFunc(rows, func(r cloudtrail.Record) bool {
			return r.Action() == want.name && bytes.Contains(r.ResponseElements, []byte(want.in))
		}) {
			t.Errorf("the sample has no %s with %s in its response", want.name, want.in)
		}
	}
	if len(rows) >= len(originals) {
		t.Errorf("%d rows of %d records: the query selects everything", len(rows), len(originals))
	}
}

// recordDiff compares two records, their JSON fields by meaning; null and
// absent are alike, as the table keeps no difference between them.
func recordDiff(a, b cloudtrail.Record) string {
	var diffs []string
	for _, p := range []struct {
		name string
		x, y json.RawMessage
	}{{"requestParameters", a.RequestParameters, b.RequestParameters}, {"responseElements", a.ResponseElements, b.ResponseElements}} {
		if !sameJSON(p.x, p.y) {
			diffs = append(diffs, fmt.Sprintf("%s %s, want %s", p.name, p.y, p.x))
		}
	}
	a.RequestParameters, a.ResponseElements, a.Position = nil, nil, ""
	b.RequestParameters, b.ResponseElements, b.Position = nil, nil, ""
	if !a.EventTime.Equal(b.EventTime) {
		diffs = append(diffs, fmt.Sprintf("time %v, want %v", b.EventTime, a.EventTime))
	}
	a.EventTime, b.EventTime = time.Time{}, time.Time{}
	if fmt.Sprintf("%+v", a) != fmt.Sprintf("%+v", b) {
		diffs = append(diffs, fmt.Sprintf("%+v, want %+v", b, a))
	}
	return strings.Join(diffs, "; ")
}

func sameJSON(x, y json.RawMessage) bool {
	var vx, vy any
	if len(bytes.TrimSpace(x)) > 0 {
		if json.Unmarshal(x, &vx) != nil {
			return false
		}
	}
	if len(bytes.TrimSpace(y)) > 0 {
		if json.Unmarshal(y, &vy) != nil {
			return false
		}
	}
	return fmt.Sprint(vx) == fmt.Sprint(vy)
}

// TestBadRowJudgedFromTheRest: a row whose requestparameters is not JSON
// is reported by record and column, and its stored statement still raises
// the findings, as do the rows after it.
func TestBadRowJudgedFromTheRest(t *testing.T) {
	lines, err := readMaybeGzip(sampleFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	rows := bytes.SplitAfter(lines, []byte("\n"))
	if len(rows) < 2 {
		t.Fatal("sample too small")
	}
	// The first AddPermission row whose statement is stored.
	i := slices.IndexFunc(rows, func(r []byte) bool {
		return bytes.Contains(r, []byte(`"eventname":"AddPermission`)) && bytes.Contains(r, []byte(`"responseelements":"{\"statement\"`))
	})
	if i < 0 {
		t.Fatal("no AddPermission with a stored statement in the sample")
	}
	var row map[string]any
	if err := json.Unmarshal(rows[i], &row); err != nil {
		t.Fatal(err)
	}
	row["requestparameters"] = "{functionName=thumbnailer, principal=999988887777}" // Hive's map text, not JSON
	bad, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	broken := slices.Clone(rows)
	broken[i] = append(bad, '\n')

	judgeAll := func(data []byte) (findings []string, errs []string) {
		engine := detect.New(judgeConfig)
		for rec, err := range cloudtrail.Decode(bytes.NewReader(data)) {
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			fs, err := engine.Judge(rec)
			if err != nil {
				errs = append(errs, rec.Position+": "+err.Error())
			}
			for _, f := range fs {
				findings = append(findings, f.EventID+" "+f.Rule+" "+f.Severity.String()+" "+f.Principal)
			}
		}
		return findings, errs
	}
	want, errs := judgeAll(lines)
	if len(errs) != 0 {
		t.Fatalf("the sample itself: %q", errs)
	}
	got, errs := judgeAll(bytes.Join(broken, nil))
	wantErr := fmt.Sprintf("record %d: Athena row: column requestparameters is not JSON", i+1)
	if len(errs) != 1 || !strings.HasPrefix(errs[0], wantErr) {
		t.Errorf("errors %q, want one starting %q", errs, wantErr)
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings\n %q\nwant\n %q", got, want)
	}
}

// TestResultNamesAreWalked: scan, walking a prefix, takes the files
// UNLOAD writes.
func TestResultNamesAreWalked(t *testing.T) {
	for _, name := range sampleFiles {
		if !cloudtrail.RecordFile(filepath.Base(name)) {
			t.Errorf("%s: scan would skip it", name)
		}
	}
}
