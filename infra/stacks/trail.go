package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// trailLogDays is how long the optional trail's log files are kept: the
// monitor reads events from EventBridge, not from these files, which only
// exist because EventBridge delivers CloudTrail events only while a trail
// is logging.
const trailLogDays = 90

// newTrail is the optional trail (context createTrail) for accounts that
// have none: without a logging trail EventBridge receives no "AWS API Call
// via CloudTrail" events, and lambdawatch would see nothing. It records
// write management events only, in every region, into a private bucket
// that forgets them after trailLogDays.
func newTrail(scope constructs.Construct) (awscloudtrail.Trail, awss3.Bucket) {
	bucket := awss3.NewBucket(scope, jsii.String("TrailBucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Expiration:                          awscdk.Duration_Days(jsii.Number(trailLogDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		// Audit logs outlive the stack; the lifecycle rule still empties
		// the bucket.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	trail := awscloudtrail.NewTrail(scope, jsii.String("Trail"), &awscloudtrail.TrailProps{
		Bucket:                     bucket,
		IsMultiRegionTrail:         jsii.Bool(true),
		IncludeGlobalServiceEvents: jsii.Bool(true),
		ManagementEvents:           awscloudtrail.ReadWriteType_WRITE_ONLY,
		EnableFileValidation:       jsii.Bool(true),
		SendToCloudWatchLogs:       jsii.Bool(false),
	})
	return trail, bucket
}
