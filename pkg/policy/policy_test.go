package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
)

func TestParsePrincipal(t *testing.T) {
	tests := []struct {
		in      string
		kind    PrincipalKind
		account string
	}{
		{"*", Wildcard, ""},
		{"111122223333", Account, "111122223333"},
		{"arn:aws:iam::111122223333:root", Account, "111122223333"},
		{"arn:aws:iam::111122223333:role/deploy", Account, "111122223333"},
		{"arn:aws:sts::111122223333:assumed-role/r/s", Account, "111122223333"},
		{"arn:aws-cn:iam::111122223333:user/u", Account, "111122223333"},
		{"s3.amazonaws.com", Service, ""},
		{"alexa-appkit.amazon.com", Service, ""},
		{"states.amazonaws.com.cn", Service, ""},
		{" * ", Wildcard, ""},
		{"1111", Unknown, ""},
		{"arn:aws:s3:::bucket", Unknown, ""},
		{"arn:aws:iam::*:root", Unknown, ""},
		{"", Unknown, ""},
	}
	for _, tt := range tests {
		p := ParsePrincipal(tt.in)
		if p.Kind != tt.kind || p.Account != tt.account {
			t.Errorf("ParsePrincipal(%q) = %+v, want kind %d account %q", tt.in, p, tt.kind, tt.account)
		}
	}
}

func TestParseStatement(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		principals []string // Value of each, in order
		kinds      []PrincipalKind
		actions    []string
		conditions []string
		wantErr    string
	}{
		{
			name:       "as Lambda stores a public grant",
			in:         `{"Sid":"backdoor","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:r:880896431042:function:f"}`,
			principals: []string{"*"}, kinds: []PrincipalKind{Wildcard}, actions: []string{"lambda:InvokeFunction"},
		},
		{
			name:       "account root",
			in:         `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"lambda:InvokeFunction"}`,
			principals: []string{"arn:aws:iam::999988887777:root"}, kinds: []PrincipalKind{Account}, actions: []string{"lambda:InvokeFunction"},
		},
		{
			name:       "service with conditions",
			in:         `{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Condition":{"StringEquals":{"AWS:SourceAccount":"111122223333"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"}}}`,
			principals: []string{"s3.amazonaws.com"}, kinds: []PrincipalKind{Service}, actions: []string{"lambda:InvokeFunction"},
			conditions: []string{"ArnLike AWS:SourceArn=arn:aws:s3:::b", "StringEquals AWS:SourceAccount=111122223333"},
		},
		{
			name:       "lists and several kinds",
			in:         `{"Effect":"Allow","Principal":{"AWS":["*","111122223333"],"Service":["sns.amazonaws.com"]},"Action":["lambda:InvokeFunction","lambda:GetFunction"]}`,
			principals: []string{"*", "111122223333", "sns.amazonaws.com"}, kinds: []PrincipalKind{Wildcard, Account, Service},
			actions: []string{"lambda:InvokeFunction", "lambda:GetFunction"},
		},
		{
			name:       "AWS principal that looks like a service is not one",
			in:         `{"Effect":"Allow","Principal":{"AWS":"s3.amazonaws.com"}}`,
			principals: []string{"s3.amazonaws.com"}, kinds: []PrincipalKind{Unknown},
		},
		{
			name:       "federated",
			in:         `{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"}}`,
			principals: []string{"Federated:cognito-identity.amazonaws.com"}, kinds: []PrincipalKind{Unknown},
		},
		{
			name:       "numeric and boolean condition values",
			in:         `{"Effect":"Allow","Principal":"*","Condition":{"StringEquals":{"aws:SourceAccount":111122223333},"Bool":{"lambda:InvokedViaFunctionUrl":true}}}`,
			principals: []string{"*"}, kinds: []PrincipalKind{Wildcard},
			conditions: []string{"Bool lambda:InvokedViaFunctionUrl=true", "StringEquals aws:SourceAccount=111122223333"},
		},
		{name: "not JSON", in: `{"Effect":`, wantErr: "statement"},
		{name: "principal of the wrong type", in: `{"Principal":42}`, wantErr: "Principal"},
		{name: "condition value an object", in: `{"Principal":"*","Condition":{"StringEquals":{"aws:SourceAccount":{"x":1}}}}`, wantErr: "Condition StringEquals aws:SourceAccount"},
		{name: "action an object", in: `{"Principal":"*","Action":{"x":1}}`, wantErr: "want a string or a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseStatement([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var vals []string
			var kinds []PrincipalKind
			for _, p := range st.Principals {
				vals = append(vals, p.Value)
				kinds = append(kinds, p.Kind)
			}
			if strings.Join(vals, "|") != strings.Join(tt.principals, "|") {
				t.Errorf("principals = %q, want %q", vals, tt.principals)
			}
			for i := range kinds {
				if i < len(tt.kinds) && kinds[i] != tt.kinds[i] {
					t.Errorf("principal %d kind = %d, want %d", i, kinds[i], tt.kinds[i])
				}
			}
			if strings.Join(st.Actions, "|") != strings.Join(tt.actions, "|") {
				t.Errorf("actions = %q, want %q", st.Actions, tt.actions)
			}
			var conds []string
			for _, c := range st.Conditions {
				conds = append(conds, c.String())
			}
			if strings.Join(conds, "|") != strings.Join(tt.conditions, "|") {
				t.Errorf("conditions = %q, want %q", conds, tt.conditions)
			}
		})
	}
}

func TestRequired(t *testing.T) {
	st, err := ParseStatement([]byte(`{"Principal":"*","Condition":{
		"StringEquals":{"AWS:SourceAccount":"111122223333","aws:PrincipalOrgID":["o-a","o-b"]},
		"StringEqualsIfExists":{"aws:SourceArn":"arn:aws:s3:::b"},
		"StringNotEquals":{"lambda:EventSourceToken":"t"},
		"ForAllValues:StringEquals":{"lambda:FunctionUrlAuthType":"NONE"},
		"ForAnyValue:StringLike":{"lambda:InvokedViaFunctionUrl":"true"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want string
		ok   bool
	}{
		{KeySourceAccount, "111122223333", true},
		{"AWS:SOURCEACCOUNT", "111122223333", true},
		{KeyPrincipalOrgID, "o-a,o-b", true},
		{KeySourceArn, "", false},                // IfExists
		{KeyEventSourceToken, "", false},         // negated
		{KeyFunctionURLAuthType, "", false},      // ForAllValues
		{KeyInvokedViaFunctionURL, "true", true}, // ForAnyValue
	}
	for _, tt := range tests {
		vals, ok := st.Required(tt.key)
		if ok != tt.ok || strings.Join(vals, ",") != tt.want {
			t.Errorf("Required(%s) = %q, %v; want %q, %v", tt.key, vals, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseStatement(f *testing.F) {
	for _, s := range []string{
		`{"Sid":"backdoor","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:r:1:function:f"}`,
		`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Condition":{"StringEquals":{"AWS:SourceAccount":"111122223333"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"}}}`,
		`{"Principal":{"AWS":["*",1]},"Action":[true]}`,
		`{"Condition":{"Bool":{"x":[null]}}}`,
		`[]`, `null`, `"*"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStatement(data)
		if len(data) > MaxStatement && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%d-byte statement: error %v, want ErrTooLarge", len(data), err)
		}
		if err != nil {
			return
		}
		for _, c := range st.Conditions {
			if c.Key != strings.ToLower(c.Key) {
				t.Errorf("condition key %q not lower case", c.Key)
			}
			_ = c.String()
		}
		for _, p := range st.Principals {
			if p.Kind == Account && !awsid.IsAccountID(p.Account) {
				t.Errorf("account principal %+v without an account ID", p)
			}
		}
		for _, k := range []string{KeySourceAccount, KeySourceArn, KeyPrincipalOrgID} {
			st.Required(k)
		}
	})
}
