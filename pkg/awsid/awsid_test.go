package awsid

import (
	"bufio"
	"os"
	"path"
	"strings"
	"testing"
)

func TestIsAccountID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"111122223333", true},
		{"000000000000", true},
		{"11112222333", false},       // 11 digits
		{"1111222233334", false},     // 13
		{"11112222333a", false},      // a letter
		{" 111122223333", false},     // blanks are the caller's to trim
		{"11112222333\u0663", false}, // an Arabic-Indic digit
		{"1111-2222-3333", false},
		{"", false},
	} {
		if got := IsAccountID(tt.in); got != tt.want {
			t.Errorf("IsAccountID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestIsOrgID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"o-a1b2c3d4e5", true},
		{"o-" + strings.Repeat("a", 32), true},
		{"o-a1b2c3d4e", false}, // 9 after o-
		{"o-" + strings.Repeat("a", 33), false},
		{"o-A1B2C3D4E5", false},
		{"O-a1b2c3d4e5", false},
		{"o-a1b2c3d4e5 ", false},
		{"o_a1b2c3d4e5", false},
		{"o-a1b2-c3d4e5", false},
		{"a1b2c3d4e5", false},
		{"o-", false},
		{"", false},
	} {
		if got := IsOrgID(tt.in); got != tt.want {
			t.Errorf("IsOrgID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPartition(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // "" for not a region
	}{
		{"us-east-1", PartitionAWS},
		{"eu-west-1", PartitionAWS},
		{"ap-southeast-5", PartitionAWS},
		{"ap-northeast-3", PartitionAWS},
		{"il-central-1", PartitionAWS},
		{"mx-central-1", PartitionAWS},
		{"me-central-1", PartitionAWS},
		{"af-south-1", PartitionAWS},
		{"ca-west-1", PartitionAWS},
		{"sa-east-1", PartitionAWS},
		{"us-west-12", PartitionAWS},
		{"cn-north-1", PartitionChina},
		{"cn-northwest-1", PartitionChina},
		{"us-gov-west-1", PartitionGovCloud},
		{"us-gov-east-1", PartitionGovCloud},
		{"us-iso-east-1", PartitionISO},
		{"us-iso-west-1", PartitionISO},
		{"us-isob-east-1", PartitionISOB},
		{"eu-isoe-west-1", PartitionISOE},
		{"us-isof-south-1", PartitionISOF},
		{"us-isof-east-1", PartitionISOF},
		{"eusc-de-east-1", PartitionEUSC},

		// Look-alikes.
		{"", ""},
		{"us-east", ""},
		{"US-EAST-1", ""},
		{"US-east-1", ""},
		{"us-east-1a", ""}, // an availability zone
		{"use1-az1", ""},   // a zone ID
		{"us-east-123", ""},
		{"us-east-0", ""},
		{"us-east-01", ""},
		{"us--east-1", ""},
		{"-us-east-1", ""},
		{"us-east-1-", ""},
		{"us-east-1.example", ""},
		{"eu-west-1.evil.example", ""},
		{"us-east-1|x", ""},
		{" us-east-1", ""},
		{"us_east_1", ""},
		{"global", ""},
		{"aws-global", ""},
		{"u-east-1", ""},
		{"xx-east-1", ""},      // a geography the SDK's table does not know
		{"cn-gov-north-1", ""}, // a second word only where a partition has one
		{"us-east-west-1", ""},
		{"eu-iso-west-1", ""},
		{"eusc-fr-east-1", ""},
		{"eusc-east-1", ""},
		{"us-gov-west-north-1", ""},
		{"us-ea5t-1", ""},
		{strings.Repeat("a", 30) + "-east-1", ""},
	} {
		got, ok := Partition(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Partition(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
		if IsRegion(tt.in) != ok {
			t.Errorf("IsRegion(%q) = %v, Partition says %v", tt.in, !ok, ok)
		}
		if ok && !IsPartition(got) {
			t.Errorf("Partition(%q) = %q, which IsPartition refuses", tt.in, got)
		}
	}
}

// TestPartitionSDKRegions: every region in the SDK's partition table
// (testdata/regions.tsv) is a region, of the table's partition.
func TestPartitionSDKRegions(t *testing.T) {
	f, err := os.Open("testdata/regions.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		region, want, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("testdata/regions.tsv: line %q: want region<TAB>partition", line)
		}
		n++
		seen[want] = true
		if got, ok := Partition(region); !ok || got != want {
			t.Errorf("Partition(%q) = %q, %v; want %q", region, got, ok, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{PartitionAWS, PartitionChina, PartitionGovCloud, PartitionISO, PartitionISOB, PartitionISOE, PartitionISOF, PartitionEUSC} {
		if !seen[p] {
			t.Errorf("testdata/regions.tsv has no region of %s", p)
		}
	}
	if n < 40 {
		t.Errorf("testdata/regions.tsv: %d regions, want the whole table", n)
	}
}

func TestIsPartition(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"aws", true}, {"aws-cn", true}, {"aws-us-gov", true}, {"aws-iso", true}, {"aws-iso-b", true},
		{"aws-iso-e", true}, {"aws-iso-f", true}, {"aws-eusc", true},
		{"AWS", false}, {"aws-gov", false}, {"aws-iso-x", false}, {"*", false}, {"", false},
	} {
		if got := IsPartition(tt.in); got != tt.want {
			t.Errorf("IsPartition(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestIsRolePattern(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"cdk-*-cfn-exec-role-*", true},
		{"platform-deployer", true},
		{"deploy-role-?", true},
		{"A+=,.@_-z09", true},
		{"*", true},
		{strings.Repeat("r", 64), true},
		{strings.Repeat("r", 65), false},
		{"", false},
		{"role/with/path", false},
		{"arn:aws:iam::111122223333:role/deployer", false},
		{"[abc]", false},
		{`deploy\*`, false},
		{"deploy role", false},
		{"rôle", false},
	} {
		got := IsRolePattern(tt.in)
		if got != tt.want {
			t.Errorf("IsRolePattern(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if _, err := path.Match(tt.in, ""); got && err != nil {
			t.Errorf("IsRolePattern(%q) accepts what path.Match refuses: %v", tt.in, err)
		}
	}
}

// FuzzIsRolePattern: an accepted pattern is valid for path.Match, which
// the engine matches role names with.
func FuzzIsRolePattern(f *testing.F) {
	for _, s := range []string{"cdk-*-cfn-exec-role-*", "a?b", "[", `\`, "", "x[a-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !IsRolePattern(s) {
			return
		}
		if _, err := path.Match(s, "cdk-hnb659fds-cfn-exec-role-111122223333-eu-west-1"); err != nil {
			t.Errorf("IsRolePattern(%q) but path.Match: %v", s, err)
		}
		if len(s) > MaxRolePattern {
			t.Errorf("IsRolePattern accepts %d characters", len(s))
		}
	})
}

func TestIsMonitorPrefix(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"lambdawatch", true},
		{"sec-watch-2", true},
		{"SecWatch", true},
		{"-", true},
		{strings.Repeat("w", MaxMonitorPrefix), true},
		{strings.Repeat("w", MaxMonitorPrefix+1), false},
		{"", false},
		{"lambda/watch", false},
		{"lambda_watch", false},
		{"lambda.watch", false},
		{"lambda watch", false},
		{"lämbdawatch", false},
	} {
		if got := IsMonitorPrefix(tt.in); got != tt.want {
			t.Errorf("IsMonitorPrefix(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSplitAccountIDs(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     []string
		wantErr  string
	}{
		{"empty", "", nil, ""},
		{"blanks and empty entries", " 444455556666, ,555566667777 ,", []string{"444455556666", "555566667777"}, ""},
		{"one", "111122223333", []string{"111122223333"}, ""},
		{"bad values named", "1234,111122223333,notanaccount",
			nil, `TRUSTED_ACCOUNTS: "1234" is not a 12-digit account ID; "notanaccount" is not a 12-digit account ID`},
		{"a space inside", "1111 2222 3333", nil, `TRUSTED_ACCOUNTS: "1111 2222 3333" is not a 12-digit account ID`},
		{"a trailing newline is a blank", "11112222333\n", nil, `TRUSTED_ACCOUNTS: "11112222333" is not a 12-digit account ID`},
		{"control characters shown", "1111\x002222", nil, `TRUSTED_ACCOUNTS: "1111\x002222" is not a 12-digit account ID`},
		{"semicolons are not separators", "111122223333;444455556666", nil, `TRUSTED_ACCOUNTS: "111122223333;444455556666" is not a 12-digit account ID`},
		{"a long value is cut", strings.Repeat("9", 200), nil, `TRUSTED_ACCOUNTS: "` + strings.Repeat("9", 80) + `"... is not a 12-digit account ID`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SplitAccountIDs("TRUSTED_ACCOUNTS", tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("error %q, want %q", gotErr, tt.wantErr)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") || (err != nil && got != nil) {
				t.Errorf("IDs %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"abc", `"abc"`},
		{"a\x00b", `"a\x00b"`},
		{strings.Repeat("é", 100), `"` + strings.Repeat("é", 40) + `"...`},
		{"a" + strings.Repeat("é", 100), `"a` + strings.Repeat("é", 39) + `"...`}, // cut before a rune, not inside it
	} {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
