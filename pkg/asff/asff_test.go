package asff

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

var update = flag.Bool("update", false, "rewrite the golden ASFF files in testdata/golden")

var (
	product = Product{Partition: "aws", Region: "eu-west-1", Account: "111122223333"}
	// importedAt is when the test findings are imported.
	importedAt = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
)

func loadFindings(t testing.TB) map[string]detect.Finding {
	t.Helper()
	data, err := os.ReadFile("testdata/findings.json")
	if err != nil {
		t.Fatal(err)
	}
	var fs map[string]detect.Finding
	if err := json.Unmarshal(data, &fs); err != nil {
		t.Fatal(err)
	}
	return fs
}

func sortedNames(fs map[string]detect.Finding) []string {
	names := make([]string, 0, len(fs))
	for n := range fs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestGolden: each finding in testdata/findings.json becomes the ASFF in
// testdata/golden/<name>.json.
func TestGolden(t *testing.T) {
	fs := loadFindings(t)
	for _, name := range sortedNames(fs) {
		t.Run(name, func(t *testing.T) {
			out, err := JSON(FromFinding(fs[name], product, importedAt))
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("ASFF of %s:\n%s\nwant (%s):\n%s", name, pretty.Bytes(), path, want)
			}
		})
	}
}

// TestRequiredFields: every finding carries what BatchImportFindings
// requires, within ASFF's limits.
func TestRequiredFields(t *testing.T) {
	for name, f := range loadFindings(t) {
		a := FromFinding(f, product, importedAt)
		for field, v := range map[string]*string{
			"SchemaVersion": a.SchemaVersion, "Id": a.Id, "ProductArn": a.ProductArn, "GeneratorId": a.GeneratorId,
			"AwsAccountId": a.AwsAccountId, "CreatedAt": a.CreatedAt, "UpdatedAt": a.UpdatedAt,
			"Title": a.Title, "Description": a.Description,
		} {
			if aws.ToString(v) == "" {
				t.Errorf("%s: no %s", name, field)
			}
		}
		if len(a.Types) == 0 || a.Severity == nil || len(a.Resources) != 1 || aws.ToString(a.Resources[0].Id) == "" {
			t.Errorf("%s: types %v, severity %v, resources %v", name, a.Types, a.Severity, a.Resources)
		}
		if n := utf8.RuneCountInString(aws.ToString(a.Description)); n > MaxDescription {
			t.Errorf("%s: description of %d characters", name, n)
		}
		if n := utf8.RuneCountInString(aws.ToString(a.Title)); n > MaxTitle {
			t.Errorf("%s: title of %d characters", name, n)
		}
		if len(aws.ToString(a.Id)) > 512 {
			t.Errorf("%s: Id of %d bytes", name, len(aws.ToString(a.Id)))
		}
		if a.RecordState != types.RecordStateActive {
			t.Errorf("%s: record state %s", name, a.RecordState)
		}
	}
}

func TestDescriptionCutVisibly(t *testing.T) {
	f := loadFindings(t)["long-summary"]
	d := aws.ToString(FromFinding(f, product, importedAt).Description)
	if utf8.RuneCountInString(d) != MaxDescription {
		t.Errorf("description of %d characters, want %d", utf8.RuneCountInString(d), MaxDescription)
	}
	if !strings.HasPrefix(f.Summary, strings.SplitN(d, " …[cut ", 2)[0]) || !strings.HasSuffix(d, " characters]") {
		t.Errorf("description %q does not say it was cut", d[len(d)-60:])
	}
	for _, tt := range []struct {
		s     string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{strings.Repeat("é", 40), 30, strings.Repeat("é", 9) + " …[cut 31 characters]"},
	} {
		if got := truncate(tt.s, tt.limit); got != tt.want || utf8.RuneCountInString(got) > tt.limit {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.limit, got, tt.want)
		}
	}
}

func TestID(t *testing.T) {
	fs := loadFindings(t)
	grant := fs["cross-account-invoke"]
	id := ID(grant)
	if !strings.HasPrefix(id, "lambdawatch/111122223333/eu-west-1/cross-account-invoke/") {
		t.Errorf("Id %s", id)
	}
	same := func(change func(*detect.Finding)) detect.Finding {
		f := grant
		change(&f)
		return f
	}
	tests := []struct {
		name string
		f    detect.Finding
		same bool
	}{
		{"another event of the same grant", same(func(f *detect.Finding) {
			f.EventID, f.EventTime, f.Summary, f.Actor = "other", f.EventTime.Add(time.Hour), "changed", "bob"
		}), true},
		{"the audit's account ID for the root ARN", same(func(f *detect.Finding) { f.Principal = "444455556666" }), true},
		{"another principal", same(func(f *detect.Finding) { f.Principal = "arn:aws:iam::555566667777:root" }), false},
		{"a role of the same account", same(func(f *detect.Finding) { f.Principal = "arn:aws:iam::444455556666:role/x" }), false},
		{"another rule", same(func(f *detect.Finding) { f.Rule = detect.RulePublicInvoke }), false},
		{"the function without the alias", same(func(f *detect.Finding) {
			f.ResourceARN = "arn:aws:lambda:eu-west-1:111122223333:function:payments"
		}), false},
	}
	for _, tt := range tests {
		if got := ID(tt.f) == id; got != tt.same {
			t.Errorf("%s: same Id %v, want %v", tt.name, got, tt.same)
		}
	}
}

func TestArchived(t *testing.T) {
	a := FromFinding(loadFindings(t)["public-layer"], product, importedAt)
	a.ProductFields["aws/securityhub/FindingId"] = "set by Security Hub"
	a.ProcessedAt = aws.String("2026-11-30T10:00:01.000Z")
	later := importedAt.Add(24 * time.Hour)
	b := Archived(a, later)
	if _, ok := b.ProductFields["aws/securityhub/FindingId"]; ok || b.ProcessedAt != nil || b.ProductFields["lambdawatch/rule"] != "public-layer" {
		t.Errorf("archived fields: %v, processed %v", b.ProductFields, b.ProcessedAt)
	}
	if _, ok := a.ProductFields["aws/securityhub/FindingId"]; !ok {
		t.Error("Archived changed its argument's fields")
	}
	if b.RecordState != types.RecordStateArchived || aws.ToString(b.UpdatedAt) != "2026-12-01T10:00:00.000Z" {
		t.Errorf("archived: %s at %s", b.RecordState, aws.ToString(b.UpdatedAt))
	}
	if a.RecordState != types.RecordStateActive || aws.ToString(b.Id) != aws.ToString(a.Id) {
		t.Error("Archived changed its argument or the Id")
	}
}

// bigFinding is a finding of about size bytes in ASFF.
func bigFinding(t testing.TB, i, size int) types.AwsSecurityFinding {
	t.Helper()
	f := FromFinding(detect.Finding{
		EventID: "e", Rule: detect.RuleCrossAccountInvoke, Severity: detect.High, Account: "111122223333", Region: "eu-west-1",
		ResourceARN: "arn:aws:lambda:eu-west-1:111122223333:function:f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)),
		Principal:   strings.Repeat("p", i+1), Summary: "s",
	}, product, importedAt)
	base, err := JSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if pad := size - len(base); pad > 0 {
		f.UserDefinedFields = map[string]string{"pad": strings.Repeat("v", pad)}
		padded, err := JSON(f)
		if err != nil {
			t.Fatal(err)
		}
		// The key and quotes add a few bytes: take them off again.
		f.UserDefinedFields["pad"] = strings.Repeat("v", pad-(len(padded)-size))
	}
	if b, _ := JSON(f); len(b) < size {
		t.Fatalf("finding of %d bytes, want %d", len(b), size)
	}
	return f
}

func TestBatch(t *testing.T) {
	sizes := func(batches [][]types.AwsSecurityFinding) (counts []int, bytes []int) {
		for _, b := range batches {
			total := batchOverhead + len(b) - 1
			for _, f := range b {
				j, err := JSON(f)
				if err != nil {
					t.Fatal(err)
				}
				total += len(j)
			}
			counts, bytes = append(counts, len(b)), append(bytes, total)
		}
		return counts, bytes
	}

	t.Run("at most 100 a call", func(t *testing.T) {
		var fs []types.AwsSecurityFinding
		for i := range 250 {
			fs = append(fs, bigFinding(t, i, 0))
		}
		batches, failed := Batch(fs)
		counts, _ := sizes(batches)
		if len(failed) != 0 || len(counts) != 3 || counts[0] != 100 || counts[1] != 100 || counts[2] != 50 {
			t.Fatalf("batches of %v, failed %v", counts, failed)
		}
		// In order, none lost.
		var ids []string
		for _, b := range batches {
			for _, f := range b {
				ids = append(ids, aws.ToString(f.Id))
			}
		}
		for i, f := range fs {
			if ids[i] != aws.ToString(f.Id) {
				t.Fatalf("finding %d out of order", i)
			}
		}
	})

	t.Run("at most 6 MB a call", func(t *testing.T) {
		var fs []types.AwsSecurityFinding
		for i := range 60 {
			fs = append(fs, bigFinding(t, i, 200_000))
		}
		batches, failed := Batch(fs)
		counts, bytes := sizes(batches)
		if len(failed) != 0 || len(batches) < 2 {
			t.Fatalf("batches of %v (%v bytes), failed %v", counts, bytes, failed)
		}
		total := 0
		for i, n := range bytes {
			total += counts[i]
			if n > MaxBatchBytes {
				t.Errorf("batch %d of %d bytes", i, n)
			}
			// Full batches are full: the next finding would not fit.
			if i < len(bytes)-1 && n+200_000 <= MaxBatchBytes {
				t.Errorf("batch %d of %d bytes left room for another", i, n)
			}
		}
		if total != 60 {
			t.Errorf("%d findings in batches, want 60", total)
		}
	})

	t.Run("a finding over 240 KB is refused by its Id, the rest go", func(t *testing.T) {
		fs := []types.AwsSecurityFinding{bigFinding(t, 1, 1000), bigFinding(t, 2, MaxFindingBytes+1), bigFinding(t, 3, 1000)}
		batches, failed := Batch(fs)
		if len(batches) != 1 || len(batches[0]) != 2 {
			t.Fatalf("%d batches (%d in the first)", len(batches), len(batches[0]))
		}
		if len(failed) != 1 || failed[0].ID != aws.ToString(fs[1].Id) || failed[0].Code != "TooLarge" ||
			!strings.Contains(failed[0].Error(), aws.ToString(fs[1].Id)) {
			t.Fatalf("failed %v", failed)
		}
	})

	t.Run("nothing to send", func(t *testing.T) {
		if b, f := Batch(nil); len(b) != 0 || len(f) != 0 {
			t.Fatalf("%d batches, %v", len(b), f)
		}
	})
}

func TestJSONLeavesOutAbsentFields(t *testing.T) {
	out, err := JSON(types.AwsSecurityFinding{Id: aws.String("x"), Resources: []types.Resource{{Id: aws.String("r")}}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"Id":"x","Resources":[{"Id":"r"}]}` {
		t.Errorf("JSON = %s", out)
	}
}
