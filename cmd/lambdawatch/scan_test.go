package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

var sampleConfig = []string{"--trusted-accounts", "444455556666", "--org-id", "o-a1b2c3d4e5"}

type ruleSeverity struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
}

// scanJSON runs scan with --format json and returns the findings, stderr
// and the exit status.
func scanJSON(t *testing.T, stdin string, args ...string) ([]detect.Finding, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"scan", "--format", "json"}, args...), strings.NewReader(stdin), &stdout, &stderr)
	var out []detect.Finding
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f detect.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		out = append(out, f)
	}
	return out, stderr.String(), code
}

// TestSamples checks every sample in events/ against the findings its
// README promises.
func TestSamples(t *testing.T) {
	b, err := os.ReadFile("testdata/events-expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string][]ruleSeverity
	if err := json.Unmarshal(b, &expected); err != nil {
		t.Fatal(err)
	}
	seen := 0
	err = filepath.WalkDir("../../events", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !cloudtrail.RecordFile(d.Name()) {
			return err
		}
		rel, _ := filepath.Rel("../../events", path)
		want, ok := expected[filepath.ToSlash(rel)]
		if !ok {
			t.Errorf("%s: not in testdata/events-expected.json", rel)
			return nil
		}
		seen++
		findings, stderr, code := scanJSON(t, "", append(slices.Clone(sampleConfig), "--min-severity", "INFO", path)...)
		if code != exitOK {
			t.Errorf("%s: exit %d: %s", rel, code, stderr)
		}
		got := []ruleSeverity{}
		for _, f := range findings {
			got = append(got, ruleSeverity{f.Rule, f.Severity.String()})
			if f.EventID == "" || f.EventTime.IsZero() || f.Account == "" || f.Region == "" || f.Actor == "" || f.Summary == "" || f.Resource() == "" {
				t.Errorf("%s: finding lacks a field every finding has: %+v", rel, f)
			}
		}
		if !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Errorf("%s:\n got %v\nwant %v", rel, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(expected) {
		t.Errorf("scanned %d sample files, testdata lists %d", seen, len(expected))
	}
}

func TestScanJSONFields(t *testing.T) {
	findings, _, code := scanJSON(t, "", append(slices.Clone(sampleConfig), "../../events/public-invoke-on-alias.json")...)
	if code != exitOK || len(findings) != 1 {
		t.Fatalf("exit %d, %d findings", code, len(findings))
	}
	f := findings[0]
	if f.Function != "orders-webhook:prod" || f.Principal != "*" || f.Outcome != "succeeded" || f.EventName != "AddPermission20150331v2" || f.UserAgent == "" || f.SourceIPAddress == "" {
		t.Errorf("finding = %+v", f)
	}
	// The JSON carries every field the output format promises.
	var stdout bytes.Buffer
	run(append([]string{"scan", "--format", "json", "../../events/public-invoke-on-alias.json"}, sampleConfig...), nil, &stdout, &bytes.Buffer{})
	var m map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"eventID", "eventTime", "eventName", "rule", "severity", "outcome", "resource", "resourceType", "account", "region", "function", "principal", "actor", "sourceIPAddress", "userAgent", "summary"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON output lacks %q: %s", k, stdout.String())
		}
	}
}

// TestScanSuppressions: a suppressed finding is still printed, marked
// with its reason, counted, and fails nothing; a file that does not load
// stops the scan before it reads anything.
func TestScanSuppressions(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	expires := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	if err := os.WriteFile(good, []byte("suppressions:\n  - rule: public-invoke\n    resource: \"*orders-webhook:prod\"\n    reason: a public webhook, approved\n    expires: "+expires+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sample := "../../events/public-invoke-on-alias.json"
	var stdout, stderr bytes.Buffer
	code := run(append(append([]string{"scan", "--format", "json", "--suppressions", good, "--fail-on", "HIGH"}, sampleConfig...), sample), nil, &stdout, &stderr)
	var f detect.Finding
	if err := json.Unmarshal(stdout.Bytes(), &f); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if code != exitOK || f.Suppressed != "a public webhook, approved" || !strings.Contains(stderr.String(), "(1 suppressed)") {
		t.Errorf("exit %d, suppressed %q, summary %q; want 0, the reason, and the count", code, f.Suppressed, stderr.String())
	}
	stdout.Reset()
	run(append(append([]string{"scan", "--suppressions", good}, sampleConfig...), sample), nil, &stdout, &bytes.Buffer{})
	if !strings.Contains(stdout.String(), "CRITICAL (suppressed)") {
		t.Errorf("the table does not mark the finding suppressed:\n%s", stdout.String())
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("suppressions:\n  - rule: public-invoke\n    expires: "+expires+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	code = run([]string{"scan", "--suppressions", bad, sample}, nil, &stdout, &stderr)
	if code != exitUsage || stdout.Len() != 0 || !strings.Contains(stderr.String(), "bad.yaml:2") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing read, and the line named", code, stdout.String(), stderr.String())
	}
}

// TestScanASFF: --format asff writes one AWS Security Finding Format
// finding a line, with the Id the finding's rule and resource give.
func TestScanASFF(t *testing.T) {
	var stdout bytes.Buffer
	code := run(append(append([]string{"scan", "--format", "asff"}, sampleConfig...), "../../events/public-invoke-on-alias.json"), nil, &stdout, &bytes.Buffer{})
	var got struct {
		SchemaVersion, Id, GeneratorId, AwsAccountId string
		Resources                                    []struct{ Type, Id string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("exit %d: %v: %s", code, err, stdout.String())
	}
	if got.SchemaVersion != "2018-10-08" || got.GeneratorId != "lambdawatch/public-invoke" || !strings.HasPrefix(got.Id, "lambdawatch/") ||
		len(got.Resources) != 1 || got.Resources[0].Type != "AwsLambdaFunction" || !strings.HasSuffix(got.Resources[0].Id, ":function:orders-webhook:prod") {
		t.Errorf("ASFF finding %+v", got)
	}
}

func TestScanExitStatus(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json.gz")
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	good, err := os.ReadFile("../../events/public-invoke-addpermission-star.json")
	if err != nil {
		t.Fatal(err)
	}
	// A log file whose second record is broken: the first and third still count.
	var ev struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(good, &ev); err != nil {
		t.Fatal(err)
	}
	zw.Write([]byte(`{"Records":[` + string(ev.Detail) + `,{"eventName":"AddPermission","eventTime":"soon"},` + string(ev.Detail) + `]}`))
	zw.Close()
	if err := os.WriteFile(bad, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		args      []string
		stdin     string
		wantCode  int
		wantCount int
		wantErr   string
	}{
		{"findings, no fail-on", []string{"../../events/public-invoke-addpermission-star.json"}, "", exitOK, 1, ""},
		{"fail-on reached", []string{"--fail-on", "HIGH", "../../events/public-invoke-addpermission-star.json"}, "", exitFindings, 1, ""},
		{"fail-on not reached", []string{"--fail-on", "CRITICAL", "../../events/cross-account-invoke-foreign-account.json"}, "", exitOK, 1, ""},
		{"fail-on counts printed findings only", []string{"--min-severity", "CRITICAL", "--fail-on", "LOW", "../../events/cross-account-invoke-foreign-account.json"}, "", exitOK, 0, ""},
		{"harmless", []string{"--fail-on", "INFO", "--org-id", "o-a1b2c3d4e5", "../../events/harmless-addpermission-own-org.json"}, "", exitOK, 0, ""},
		{"bad record named, others scanned", []string{bad}, "", exitUsage, 2, bad + ": record 2: field eventTime"},
		{"missing file named, others scanned", []string{filepath.Join(dir, "nope.json"), "../../events/public-invoke-addpermission-star.json"}, "", exitUsage, 1, "nope.json: no such file"},
		{"stdin", []string{"-"}, string(good), exitOK, 1, ""},
		{"stdin json lines with a bad line", []string{"-"}, compact(t, ev.Detail) + "\nnot json\n" + compact(t, ev.Detail), exitUsage, 2, "-: record 2 (line 2): invalid JSON"},
		{"stdin concatenated documents", []string{"-"}, string(good) + string(good), exitOK, 2, ""},
		{"bad flag value", []string{"--min-severity", "URGENT", "-"}, "", exitUsage, 0, "--min-severity"},
		{"bad trusted account", []string{"--trusted-accounts", "12345", "-"}, "", exitUsage, 0, "12-digit"},
		{"bad org id", []string{"--org-id", "org-1", "-"}, "", exitUsage, 0, "o-xxxxxxxxxx"},
		{"no path", nil, "", exitUsage, 0, "no PATH"},
		{"bad format", []string{"--format", "xml", "-"}, "", exitUsage, 0, "--format"},
		{"stdin twice", []string{"-", "-"}, string(good), exitUsage, 0, "standard input) given more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"scan"}, tt.args...)
			if !slices.Contains(tt.args, "--format") {
				args = append([]string{"scan", "--format", "json"}, tt.args...)
			}
			code := run(args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if n := strings.Count(stdout.String(), "\n"); n != tt.wantCount {
				t.Errorf("%d findings printed, want %d", n, tt.wantCount)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestScanTextTable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"scan", "../../events/"}, sampleConfig...), nil, &stdout, &stderr)
	// Flags after PATH are not flags: the folder is scanned with no
	// configuration, and the flags are named as missing files.
	if code != exitUsage || !strings.Contains(stderr.String(), "--trusted-accounts") {
		t.Errorf("exit %d; stderr %s", code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	code = run(append(append([]string{"scan"}, sampleConfig...), "../../events/"), nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if !strings.HasPrefix(lines[0], "SEVERITY") {
		t.Errorf("no header: %q", lines[0])
	}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "INFO") || strings.HasPrefix(l, "LOW") {
			t.Errorf("row below the default MEDIUM: %q", l)
		}
	}
	if !strings.Contains(stdout.String(), "CRITICAL") || !strings.Contains(stderr.String(), "findings at MEDIUM or above") {
		t.Errorf("stdout %s\nstderr %s", stdout.String(), stderr.String())
	}
}

// TestScanTextEscapes: text a caller chose (here a role session name, in
// the actor and so in the summary) cannot move the cursor or turn the
// table's text around.
func TestScanTextEscapes(t *testing.T) {
	good, err := os.ReadFile("../../events/public-invoke-addpermission-star.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(good, &ev); err != nil {
		t.Fatal(err)
	}
	detail := ev["detail"].(map[string]any)
	detail["userIdentity"] = map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/r/x\x1b[2J\u202egnp.exe\r\n"}
	in, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"scan", "-"}, bytes.NewReader(in), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if strings.ContainsAny(stdout.String(), "\x1b\r\u202e") || !strings.Contains(stdout.String(), "x?[2J?gnp.exe??") {
		t.Errorf("table: %q", stdout.String())
	}
}

func TestCell(t *testing.T) {
	tests := map[string]string{
		"":                    "-",
		"plain":               "plain",
		"a\tb\nc\x1b[2Jd\x7f": "a?b?c?[2Jd?",
		"ünïcode ok":          "ünïcode ok",
		"c1\u009bx":           "c1?x",
	}
	for in, want := range tests {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(nil, nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "Usage") {
		t.Errorf("no args: exit %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"frobnicate"}, nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), `unknown command "frobnicate"`) {
		t.Errorf("unknown: exit %d, stderr %q", code, stderr.String())
	}
	stdout.Reset()
	if code := run([]string{"rules"}, nil, &stdout, &stderr); code != exitOK {
		t.Errorf("rules: exit %d", code)
	}
	for _, r := range detect.Rules {
		if !strings.Contains(stdout.String(), r.ID) {
			t.Errorf("rules output lacks %s", r.ID)
		}
	}
}
