// Package cloudtrailtest writes synthetic CloudTrail archives, laid out and
// shaped as CloudTrail writes them, for measuring and testing hunts.
package cloudtrailtest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Archive describes a synthetic archive.
type Archive struct {
	Files          int    // log files
	RecordsPerFile int    // records in each
	Account        string // 111122223333 when empty
	Region         string // eu-west-1 when empty
	Seed           uint64
	// WatchedEvery puts a call the rules read (a public grant, a function
	// URL, a layer shared with everyone) in one record out of this many;
	// zero means one in 2,000. The rest are other services' calls and
	// Lambda's read-only ones, which a busy account logs far more often.
	WatchedEvery int
}

// Written is what Write wrote.
type Written struct {
	Files    int
	Records  int
	Watched  int   // records of watched calls
	Bytes    int64 // uncompressed
	Stored   int64 // gzipped
	Paths    []string
	FirstDay time.Time
}

var others = []struct{ source, name string }{
	{"s3.amazonaws.com", "GetBucketAcl"}, {"s3.amazonaws.com", "ListBuckets"},
	{"ec2.amazonaws.com", "DescribeInstances"}, {"ec2.amazonaws.com", "DescribeSecurityGroups"},
	{"sts.amazonaws.com", "AssumeRole"}, {"sts.amazonaws.com", "GetCallerIdentity"},
	{"kms.amazonaws.com", "Decrypt"}, {"kms.amazonaws.com", "GenerateDataKey"},
	{"iam.amazonaws.com", "GetRole"}, {"logs.amazonaws.com", "CreateLogStream"},
	{"ssm.amazonaws.com", "GetParameter"}, {"dynamodb.amazonaws.com", "DescribeTable"},
	{"lambda.amazonaws.com", "GetFunction20150331v2"}, {"lambda.amazonaws.com", "ListFunctions20150331"},
	{"lambda.amazonaws.com", "GetPolicy20150331v2"}, {"secretsmanager.amazonaws.com", "GetSecretValue"},
	{"events.amazonaws.com", "DescribeRule"}, {"sns.amazonaws.com", "ListSubscriptionsByTopic"},
	{"cloudtrail.amazonaws.com", "LookupEvents"}, {"sqs.amazonaws.com", "GetQueueAttributes"},
}

// agent writes a user agent such as CloudTrail records: SDKs, the CLI,
// the console, AWS itself.
func agent(r *rand.Rand, api string) string {
	switch r.IntN(5) {
	case 0:
		return fmt.Sprintf("aws-sdk-go-v2/1.30.%d os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/%s#1.%d.0", r.IntN(10), api, r.IntN(60))
	case 1:
		v := r.IntN(150)
		return fmt.Sprintf("Boto3/1.34.%d md/Botocore#1.34.%d ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.4 cfg/retry-mode#legacy Botocore/1.34.%d", v, v, v)
	case 2:
		return fmt.Sprintf("aws-cli/2.17.%d md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard command/%s", r.IntN(50), api)
	case 3:
		return "AWS Internal"
	}
	return "console.amazonaws.com"
}

const hexdigits = "0123456789abcdef"

func hex(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexdigits[r.IntN(16)]
	}
	return string(b)
}

func upper(r *rand.Rand, n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

func uuid(r *rand.Rand) string {
	return hex(r, 8) + "-" + hex(r, 4) + "-" + hex(r, 4) + "-" + hex(r, 4) + "-" + hex(r, 12)
}

// record writes one record of another service's call.
func record(r *rand.Rand, account, region string, t time.Time) string {
	o := others[r.IntN(len(others))]
	api := strings.TrimSuffix(o.source, ".amazonaws.com")
	session := fmt.Sprintf("i-%s", hex(r, 17))
	role := []string{"app-backend", "ci-deploy", "data-pipeline", "ops-readonly"}[r.IntN(4)]
	return fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA%s:%s","arn":"arn:aws:sts::%s:assumed-role/%s/%s","accountId":"%s","accessKeyId":"ASIA%s","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA%s","arn":"arn:aws:iam::%s:role/%s","accountId":"%s","userName":"%s"},"attributes":{"creationDate":"%s","mfaAuthenticated":"false"}}},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"%s","sourceIPAddress":"%d.%d.%d.%d","userAgent":"%s","requestParameters":{"resourceName":"%s-%s","maxResults":%d},"responseElements":null,"requestID":"%s","eventID":"%s","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s.%s.amazonaws.com"}}`,
		upper(r, 17), session, account, role, session, account, upper(r, 16), upper(r, 17), account, role, account, role,
		t.Add(-time.Duration(r.IntN(3600))*time.Second).Format(time.RFC3339), t.Format(time.RFC3339), o.source, o.name, region,
		10+r.IntN(200), r.IntN(256), r.IntN(256), r.IntN(256), agent(r, api), role, hex(r, 6), 10+r.IntN(90),
		uuid(r), uuid(r), account, api, region)
}

// watched writes one record of a call the rules read and flag.
func watched(r *rand.Rand, account, region string, t time.Time) string {
	fn := "fn-" + hex(r, 6)
	base := func(name, req, resp string) string {
		return fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA%s","arn":"arn:aws:iam::%s:user/mallory","accountId":"%s","accessKeyId":"AKIA%s","userName":"mallory"},"eventTime":"%s","eventSource":"lambda.amazonaws.com","eventName":"%s","awsRegion":"%s","sourceIPAddress":"203.0.113.%d","userAgent":"aws-cli/2.17.0","requestParameters":%s,"responseElements":%s,"requestID":"%s","eventID":"%s","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management"}`,
			upper(r, 17), account, account, upper(r, 16), t.Format(time.RFC3339), name, region, r.IntN(256), req, resp, uuid(r), uuid(r), account)
	}
	switch r.IntN(3) {
	case 0:
		stmt := fmt.Sprintf(`{\"Sid\":\"open\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"arn:aws:lambda:%s:%s:function:%s\"}`, region, account, fn)
		return base("AddPermission20150331v2",
			fmt.Sprintf(`{"functionName":"%s","statementId":"open","action":"lambda:InvokeFunction","principal":"*"}`, fn),
			fmt.Sprintf(`{"statement":"%s"}`, stmt))
	case 1:
		return base("CreateFunctionUrlConfig",
			fmt.Sprintf(`{"functionName":"%s","authType":"NONE"}`, fn),
			fmt.Sprintf(`{"functionUrl":"https://%s.lambda-url.%s.on.aws/","functionArn":"arn:aws:lambda:%s:%s:function:%s","authType":"NONE"}`, hex(r, 32), region, region, account, fn))
	default:
		layer := "layer-" + hex(r, 4)
		stmt := fmt.Sprintf(`{\"Sid\":\"all\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:GetLayerVersion\",\"Resource\":\"arn:aws:lambda:%s:%s:layer:%s:1\"}`, region, account, layer)
		return base("AddLayerVersionPermission20181031",
			fmt.Sprintf(`{"layerName":"%s","versionNumber":1,"statementId":"all","action":"lambda:GetLayerVersion","principal":"*"}`, layer),
			fmt.Sprintf(`{"statement":"%s","revisionId":"%s"}`, stmt, uuid(r)))
	}
}

// Write writes the archive under dir, as CloudTrail lays it out:
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz, one day
// folder for every 288 files (a file every five minutes).
func Write(dir string, a Archive) (Written, error) {
	if a.Account == "" {
		a.Account = "111122223333"
	}
	if a.Region == "" {
		a.Region = "eu-west-1"
	}
	if a.WatchedEvery <= 0 {
		a.WatchedEvery = 2000
	}
	r := rand.New(rand.NewPCG(a.Seed, 0x6c77))
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	w := Written{FirstDay: start}
	zw, err := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	if err != nil {
		return w, err
	}
	var sb strings.Builder
	for i := range a.Files {
		t := start.Add(time.Duration(i) * 5 * time.Minute)
		sb.Reset()
		sb.WriteString(`{"Records":[`)
		for j := range a.RecordsPerFile {
			if j > 0 {
				sb.WriteByte(',')
			}
			rt := t.Add(time.Duration(r.IntN(300)) * time.Second)
			if r.IntN(a.WatchedEvery) == 0 {
				sb.WriteString(watched(r, a.Account, a.Region, rt))
				w.Watched++
			} else {
				sb.WriteString(record(r, a.Account, a.Region, rt))
			}
			w.Records++
		}
		sb.WriteString("]}")
		folder := filepath.Join(dir, "AWSLogs", a.Account, "CloudTrail", a.Region, t.Format("2006"), t.Format("01"), t.Format("02"))
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return w, err
		}
		path := filepath.Join(folder, fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", a.Account, a.Region, t.Format("20060102T1504Z"), upper(r, 16)))
		f, err := os.Create(path)
		if err != nil {
			return w, err
		}
		zw.Reset(f)
		if _, err := zw.Write([]byte(sb.String())); err != nil {
			f.Close()
			return w, fmt.Errorf("write %s: %w", path, err)
		}
		if err := zw.Close(); err != nil {
			f.Close()
			return w, fmt.Errorf("write %s: %w", path, err)
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return w, err
		}
		if err := f.Close(); err != nil {
			return w, err
		}
		w.Files++
		w.Bytes += int64(sb.Len())
		w.Stored += info.Size()
		w.Paths = append(w.Paths, path)
	}
	return w, nil
}
