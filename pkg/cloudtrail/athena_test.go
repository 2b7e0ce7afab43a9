package cloudtrail

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// athenaRow1 is rec1 as Athena's UNLOAD (format JSON) writes it: every
// column in lower case, NULL as null, requestparameters as JSON text.
const athenaRow1 = `{"eventversion":"1.08","useridentity":{"type":"AssumedRole","principalid":"AROA:dev","arn":"arn:aws:sts::111122223333:assumed-role/Dev/dev","accountid":"111122223333","invokedby":null,"accesskeyid":"ASIA","username":null,"sessioncontext":{"attributes":{"mfaauthenticated":"false","creationdate":"2026-11-20T09:00:00Z"},"sessionissuer":{"type":"Role","principalid":"AROA","arn":"arn:aws:iam::111122223333:role/Dev","accountid":"111122223333","username":"Dev"}}},"eventtime":"2026-11-20T10:00:00Z","eventsource":"lambda.amazonaws.com","eventname":"AddPermission20150331v2","awsregion":"eu-west-1","sourceipaddress":"203.0.113.7","useragent":"aws-cli/2","errorcode":null,"errormessage":null,"requestparameters":"{\"functionName\":\"f\",\"principal\":\"*\"}","responseelements":"{\"statement\":\"{\\\"Principal\\\":\\\"*\\\"}\"}","additionaleventdata":null,"requestid":"r1","eventid":"e1","resources":null,"eventtype":"AwsApiCall","apiversion":null,"readonly":"false","recipientaccountid":"111122223333","serviceeventdetails":null,"sharedeventid":null,"vpcendpointid":null}`

func rowWith(t *testing.T, id string, set map[string]any) string {
	t.Helper()
	var row map[string]any
	if err := json.Unmarshal([]byte(athenaRow1), &row); err != nil {
		t.Fatal(err)
	}
	row["eventid"] = id
	for k, v := range set {
		row[k] = v
	}
	b, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeAthenaRow(t *testing.T) {
	var got []Record
	for rec, err := range Decode(strings.NewReader(gz(t, athenaRow1+"\n"))) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	want := Record{
		EventVersion: "1.08", EventID: "e1", EventTime: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		EventSource: "lambda.amazonaws.com", EventName: "AddPermission20150331v2", EventType: "AwsApiCall",
		AWSRegion: "eu-west-1", SourceIPAddress: "203.0.113.7", UserAgent: "aws-cli/2", RecipientAccountID: "111122223333",
		UserIdentity: UserIdentity{Type: "AssumedRole", PrincipalID: "AROA:dev", ARN: "arn:aws:sts::111122223333:assumed-role/Dev/dev", AccountID: "111122223333"},
		Position:     "record 1",
	}
	if len(got) != 1 {
		t.Fatalf("%d records, want 1", len(got))
	}
	r := got[0]
	if string(r.RequestParameters) != `{"functionName":"f","principal":"*"}` || string(r.ResponseElements) != `{"statement":"{\"Principal\":\"*\"}"}` {
		t.Errorf("request %s, response %s: want the columns' JSON text", r.RequestParameters, r.ResponseElements)
	}
	r.RequestParameters, r.ResponseElements = nil, nil
	if !r.EventTime.Equal(want.EventTime) {
		t.Errorf("time %v, want %v", r.EventTime, want.EventTime)
	}
	r.EventTime = want.EventTime
	if !reflect.DeepEqual(r, want) {
		t.Errorf("record\n %+v\nwant\n %+v", r, want)
	}
}

func TestDecodeAthenaRows(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantIDs  []string
		wantErrs []string // substrings, in order
	}{
		{"json lines of rows", rowWith(t, "a1", nil) + "\n" + rowWith(t, "a2", nil) + "\n", []string{"a1", "a2"}, nil},
		{"rows beside records", rec1 + "\n" + rowWith(t, "a1", nil) + "\n" + rec2 + "\n", []string{"e1", "a1", "e2"}, nil},
		{"null columns", rowWith(t, "a1", map[string]any{"requestparameters": nil, "responseelements": nil, "eventtime": nil, "useridentity": nil}), []string{"a1"}, nil},
		{"only eventname", `{"eventname":"X","eventid":"a1"}`, []string{"a1"}, nil},
		{
			"request text not JSON: error, then the record",
			rowWith(t, "a1", nil) + "\n" + rowWith(t, "a2", map[string]any{"requestparameters": "{functionName=f, principal=*}"}) + "\n" + rowWith(t, "a3", nil),
			[]string{"a1", "a2", "a3"},
			[]string{"record 2: Athena row: column requestparameters is not JSON (invalid character 'f'"},
		},
		{
			"both texts broken",
			rowWith(t, "a1", map[string]any{"requestparameters": "{", "responseelements": "nope"}),
			[]string{"a1"},
			[]string{"record 1: Athena row: column requestparameters is not JSON", "record 1: Athena row: column responseelements is not JSON"},
		},
		{
			"bad eventtime spoils the row only",
			rowWith(t, "a1", map[string]any{"eventtime": "yesterday"}) + "\n" + rowWith(t, "a2", nil),
			[]string{"a2"},
			[]string{`record 1: Athena row: column eventtime: "yesterday" is not an RFC 3339 time`},
		},
		{
			"wrong type names the column",
			rowWith(t, "a1", map[string]any{"useridentity": map[string]any{"arn": 7}}) + "\n" + rowWith(t, "a2", nil),
			[]string{"a2"},
			[]string{"record 1: Athena row: column useridentity.arn: want string, got JSON number"},
		},
		{
			"request text not a string",
			rowWith(t, "a1", map[string]any{"requestparameters": map[string]any{"functionName": "f"}}),
			nil,
			[]string{"record 1: Athena row: column requestparameters: want string, got JSON object"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDecode(t, tt.input, tt.wantIDs, tt.wantErrs)
		})
	}
}

// TestDecodeAthenaRowPositions: a row with a broken column keeps one
// position for its error and its record, and the rows after it keep theirs.
func TestDecodeAthenaRowPositions(t *testing.T) {
	in := rowWith(t, "a1", map[string]any{"responseelements": "x"}) + "\n" + rowWith(t, "a2", nil) + "\n"
	var positions []string
	for rec, err := range Decode(strings.NewReader(in)) {
		if err != nil {
			positions = append(positions, strings.SplitN(err.Error(), ":", 2)[0])
			continue
		}
		if rec.EventID == "a1" && (rec.ResponseElements != nil || len(rec.RequestParameters) == 0) {
			t.Errorf("a1: request %s, response %s; want the request alone", rec.RequestParameters, rec.ResponseElements)
		}
		positions = append(positions, rec.Position)
	}
	if strings.Join(positions, ",") != "record 1,record 1,record 2" {
		t.Errorf("positions %q, want record 1 twice then record 2", positions)
	}
}
