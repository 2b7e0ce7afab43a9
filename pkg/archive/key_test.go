package archive

import (
	"testing"
	"time"
)

func day(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

func TestParseKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		ok   bool
		want Key
	}{
		{
			name: "account trail at the bucket root",
			key:  "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/111122223333_CloudTrail_eu-west-1_20261120T1005Z_AbCdEf0123456789.json.gz",
			ok:   true,
			want: Key{Account: "111122223333", Region: "eu-west-1", Day: day(2026, 11, 20), Log: true, Delivered: time.Date(2026, 11, 20, 10, 5, 0, 0, time.UTC)},
		},
		{
			name: "organization trail under a chosen prefix",
			key:  "trails/main/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/us-gov-west-1/2025/01/31/444455556666_CloudTrail_us-gov-west-1_20250131T2355Z_Zz9.json.gz",
			ok:   true,
			want: Key{OrgID: "o-a1b2c3d4e5", Account: "444455556666", Region: "us-gov-west-1", Day: day(2025, 1, 31), Log: true, Delivered: time.Date(2025, 1, 31, 23, 55, 0, 0, time.UTC)},
		},
		{
			name: "local relative path, a file renamed",
			key:  "AWSLogs/111122223333/CloudTrail/eusc-de-east-1/2024/02/29/records.json",
			ok:   true,
			want: Key{Account: "111122223333", Region: "eusc-de-east-1", Day: day(2024, 2, 29)},
		},
		{
			name: "name's account differs from the folder's",
			key:  "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/999988887777_CloudTrail_eu-west-1_20261120T1005Z_Ab.json.gz",
			ok:   true,
			want: Key{Account: "111122223333", Region: "eu-west-1", Day: day(2026, 11, 20)},
		},
		{
			name: "name's day differs from the folder's",
			key:  "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/111122223333_CloudTrail_eu-west-1_20261121T0005Z_Ab.json.gz",
			ok:   true,
			want: Key{Account: "111122223333", Region: "eu-west-1", Day: day(2026, 11, 20)},
		},
		{
			name: "a prefix that holds AWSLogs but not the layout, before the real one",
			key:  "AWSLogs/backup/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/f.json.gz",
			ok:   true,
			want: Key{Account: "111122223333", Region: "eu-west-1", Day: day(2026, 11, 20)},
		},
		{name: "digest file", key: "AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/11/20/111122223333_CloudTrail-Digest_eu-west-1_trail_us-east-1_20261120T1005Z.json.gz"},
		{name: "insight file", key: "AWSLogs/111122223333/CloudTrail-Insight/eu-west-1/2026/11/20/111122223333_CloudTrail-Insight_eu-west-1_20261120T1005Z_Ab.json.gz"},
		{name: "another service", key: "AWSLogs/111122223333/Config/eu-west-1/2026/11/20/ConfigSnapshot/x.json.gz"},
		{name: "eleven-digit account", key: "AWSLogs/11112222333/CloudTrail/eu-west-1/2026/11/20/f.json.gz"},
		{name: "no AWSLogs", key: "logs/111122223333/CloudTrail/eu-west-1/2026/11/20/f.json.gz"},
		{name: "AWSLogs as part of a name", key: "MyAWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/f.json.gz"},
		{name: "lower-case service folder", key: "AWSLogs/111122223333/cloudtrail/eu-west-1/2026/11/20/f.json.gz"},
		{name: "not a region", key: "AWSLogs/111122223333/CloudTrail/europe/2026/11/20/f.json.gz"},
		{name: "month 13", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/13/20/f.json.gz"},
		{name: "30 February", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/02/30/f.json.gz"},
		{name: "one-digit day", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/2/f.json.gz"},
		{name: "file in a month folder", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/f.json.gz"},
		{name: "file below a day folder", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/more/f.json.gz"},
		{name: "org folder without account", key: "AWSLogs/o-a1b2c3d4e5/CloudTrail/eu-west-1/2026/11/20/f.json.gz"},
		{name: "org ID too short", key: "AWSLogs/o-abc/111122223333/CloudTrail/eu-west-1/2026/11/20/f.json.gz"},
		{name: "Athena results", key: "athena/Unsaved/2026/11/20/0d9f-4a1c.csv"},
		{name: "empty", key: ""},
		{name: "slashes only", key: "///"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseKey(tt.key)
			if ok != tt.ok || got != tt.want {
				t.Errorf("ParseKey(%q) = %+v, %v; want %+v, %v", tt.key, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestRegionFolders: a key's region folder and a --region bound accept the
// region names of every partition (awsid's), and nothing else.
func TestRegionFolders(t *testing.T) {
	for s, want := range map[string]bool{
		"us-east-1": true, "ap-southeast-5": true, "us-gov-west-1": true, "cn-northwest-1": true, "eusc-de-east-1": true,
		"il-central-1": true, "mx-central-1": true, "us-iso-east-1": true, "us-isob-east-1": true, "eu-isoe-west-1": true,
		"us-isof-south-1": true,
		"us-east":         false, "us-east-123": false, "US-east-1": false, "u-east-1": false, "us--east-1": false, "global": false,
		"": false, "us-east-1a": false, "xx-east-1": false,
	} {
		key := "AWSLogs/111122223333/CloudTrail/" + s + "/2026/11/20/111122223333_CloudTrail_" + s + "_20261120T1005Z_AbCdEf.json.gz"
		got, ok := ParseKey(key)
		if ok != want || (ok && (got.Region != s || !got.Log)) {
			t.Errorf("ParseKey(%q) = %+v, %v; want region %q: %v", key, got, ok, s, want)
		}
		if err := (Filter{Regions: []string{s}}).Validate(); (err == nil) != want {
			t.Errorf("Filter{Regions: %q}.Validate() = %v, want valid %v", s, err, want)
		}
	}
}
