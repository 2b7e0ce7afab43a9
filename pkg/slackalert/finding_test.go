package slackalert

import (
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

func TestDecodeFinding(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wantErr    string // "" means success
		wantSev    detect.Severity
	}{
		{"ok", `{"rule":"public-invoke","severity":"CRITICAL","eventID":"e1"}`, "", detect.Critical},
		{"ok lower case severity", `{"rule":"public-layer","severity":"high"}`, "", detect.High},
		{"unknown fields ignored", `{"rule":"x","severity":"LOW","new":1}`, "", detect.Low},
		{"empty", "  ", "empty body", 0},
		{"array", `[{"rule":"x"}]`, "want a JSON object", 0},
		{"not json", `hello`, "want a JSON object", 0},
		{"broken json", `{"rule":`, "not a finding", 0},
		{"bad severity", `{"rule":"x","severity":"URGENT"}`, "unknown severity", 0},
		{"no rule", `{"severity":"HIGH"}`, `no "rule"`, 0},
		{"no severity", `{"rule":"public-invoke"}`, `no "severity"`, 0},
		{"sns envelope", `{"Type":"Notification","TopicArn":"arn:aws:sns:us-east-1:1:alerts","Message":"{}"}`, "raw message delivery", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := DecodeFinding([]byte(tc.body))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if f.Severity != tc.wantSev {
					t.Errorf("severity %v, want %v", f.Severity, tc.wantSev)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
