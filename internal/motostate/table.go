package motostate

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CreateStateTable makes the state table as the stack defines it: the
// string partition key pk, no sort key, TTL on ttl.
func CreateStateTable(t testing.TB, db *dynamodb.Client, name string) {
	t.Helper()
	ctx := context.Background()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)},
	})
	if err != nil {
		t.Fatalf("ttl on %s: %v", name, err)
	}
}

// DynamoDB is a DynamoDB client of its own on endpoint, as another
// container would have; attempts 0 keeps the SDK's retries.
func DynamoDB(endpoint string, attempts int) *dynamodb.Client {
	return dynamodb.NewFromConfig(Config(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		if attempts > 0 {
			o.RetryMaxAttempts = attempts
		}
	})
}

// StateTableName is the table StartStateTable makes.
const StateTableName = "lambdawatch-state"

// StartStateTable starts moto's server with the state table in it, for
// the test; it returns the endpoint and a client of it.
func StartStateTable(t testing.TB) (string, *dynamodb.Client) {
	t.Helper()
	endpoint := Start(t)
	db := DynamoDB(endpoint, 0)
	CreateStateTable(t, db, StateTableName)
	return endpoint, db
}
