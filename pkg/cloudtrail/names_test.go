package cloudtrail

import (
	"slices"
	"strings"
	"testing"
)

func TestEventNames(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{rec1, []string{"AddPermission20150331v2"}},
		{`{"Records":[` + rec1 + `,` + rec2 + `]}`, []string{"AddPermission20150331v2", "CreateFunctionUrlConfig"}},
		{"{\"eventName\" :\n \"A\"}", []string{"A"}},
		{`{"eventname":"B","eventName":"A"}`, []string{"A", "B"}},
		{`{"eventName":1,"eventName":null,"eventName":"C`, nil},
		{`{"EventName":"A","x":"eventName"}`, nil},
		{`{"requestParameters":{"eventName":"D"}}`, []string{"D"}},
		{`eventName":"E"`, nil},
		{`"eventName"`, nil},
		{`"eventName`, nil},
		{`"eventNames":"F"`, nil},
		{`"eventName": "G", "eventname" :"H"`, []string{"G", "H"}},
		{`"preventName":"I"`, nil},
	}
	for _, tt := range tests {
		var got []string
		for v := range EventNames([]byte(tt.in)) {
			got = append(got, string(v))
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNameKey: a record whose name comes from a key CloudTrail does not
// write is refused by position; the records around it stand.
func TestNameKey(t *testing.T) {
	tests := []struct {
		name, record string
		ok           bool
	}{
		{"CloudTrail's key", rec1, true},
		{"another case", strings.Replace(rec1, `"eventName"`, `"EventName"`, 1), false},
		{"a later key in another case wins in encoding/json", strings.Replace(rec1, `"awsRegion"`, `"EVENTNAME":"GetFunction","awsRegion"`, 1), false},
		{"the same name twice", strings.Replace(rec1, `"awsRegion"`, `"EVENTNAME":"AddPermission20150331v2","awsRegion"`, 1), true},
		{"a key spelt with an escape", strings.Replace(rec1, `"eventName"`, `"event\u004eame"`, 1), true},
		{"in an EventBridge event", eventBridge(strings.Replace(rec1, `"eventName"`, `"EVENTNAME"`, 1)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, errs := collect(rec2 + "\n" + tt.record + "\n" + rec2)
			if tt.ok && (len(errs) != 0 || len(ids) != 3) {
				t.Errorf("ids %q, errors %q", ids, errs)
			}
			if !tt.ok && (len(ids) != 2 || len(errs) != 1 || !strings.Contains(errs[0], "record 2 (") && !strings.Contains(errs[0], "record 2: ") || !strings.Contains(errs[0], "key CloudTrail does not write")) {
				t.Errorf("ids %q, errors %q", ids, errs)
			}
		})
	}
}
