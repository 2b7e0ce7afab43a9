-- lambdawatch hunt: the CloudTrail records lambdawatch's rules read, unloaded
-- as JSON for `lambdawatch scan s3://<bucket>/<prefix>/`.
--
-- Generated from detect.Watched by
--   go test ./pkg/athena -run TestQueryUpToDate -update
-- Do not edit by hand: a test fails when this file and detect.Watched differ.
--
-- The table is the one the Amazon Athena User Guide creates in "Querying AWS
-- CloudTrail logs" (create-cloudtrail-table.html: CREATE EXTERNAL TABLE
-- cloudtrail_logs, ROW FORMAT SERDE 'com.amazon.emr.hive.serde.CloudTrailSerde';
-- create-cloudtrail-table-partition-projection.html: cloudtrail_logs_pp), or the
-- one the CloudTrail console's "Create Athena table" makes. The query reads the
-- columns eventsource, eventname and eventtime; SELECT * keeps every column, so
-- that the records judged are whole. UNLOAD and its JSON format follow the User
-- Guide's UNLOAD page: format = 'JSON' writes gzip-compressed JSON Lines.
--
-- Placeholders (athena.Fill fills them):
--   {{TABLE}}   the CloudTrail table, such as cloudtrail_logs
--   {{OUTPUT}}  an empty S3 prefix for the results, such as s3://results-bucket/hunt-2026/
--               (UNLOAD refuses a prefix that already holds objects)
--   {{FROM}}    first eventtime to read, such as 2026-01-01T00:00:00Z
--   {{TO}}      first eventtime not to read, such as 2027-01-01T00:00:00Z
--
-- Cost: Athena bills the bytes it reads. eventtime is a column, not a partition:
-- on its own it narrows the results, not the reading, and every log file the
-- table covers is read. On a partitioned table, add the partition predicate
-- below for the same range, so that Athena reads only those days.
UNLOAD (
  SELECT *
  FROM {{TABLE}}
  WHERE eventtime >= '{{FROM}}'
    AND eventtime < '{{TO}}'
    -- Partition projection table (projection.timestamp.format 'yyyy/MM/dd'):
    --   AND "timestamp" BETWEEN '2026/01/01' AND '2026/12/31'
    -- Manually partitioned table (PARTITIONED BY region, year, month, day):
    --   AND year = '2026'
    -- Lambda's event names carry an API version (AddPermission20150331v2),
    -- hence prefixes; the EventBridge rules that feed the monitor match the
    -- same prefixes.
    AND (
         (eventsource = 'lambda.amazonaws.com' AND (
             eventname LIKE 'AddLayerVersionPermission%'
          OR eventname LIKE 'AddPermission%'
          OR eventname LIKE 'CreateFunction%'
          OR eventname LIKE 'CreateFunctionUrlConfig%'
          OR eventname LIKE 'DeleteEventSourceMapping%'
          OR eventname LIKE 'DeleteFunction%'
          OR eventname LIKE 'PutFunctionConcurrency%'
          OR eventname LIKE 'RemoveLayerVersionPermission%'
          OR eventname LIKE 'RemovePermission%'
          OR eventname LIKE 'UpdateEventSourceMapping%'
          OR eventname LIKE 'UpdateFunctionCode%'
          OR eventname LIKE 'UpdateFunctionConfiguration%'
          OR eventname LIKE 'UpdateFunctionUrlConfig%'
      ))
      OR (eventsource = 'cloudtrail.amazonaws.com' AND (
             eventname LIKE 'DeleteTrail%'
          OR eventname LIKE 'PutEventSelectors%'
          OR eventname LIKE 'StopLogging%'
          OR eventname LIKE 'UpdateTrail%'
      ))
      OR (eventsource = 'events.amazonaws.com' AND (
             eventname LIKE 'DeleteEventBus%'
          OR eventname LIKE 'DeleteRule%'
          OR eventname LIKE 'DisableRule%'
          OR eventname LIKE 'PutPermission%'
          OR eventname LIKE 'PutRule%'
          OR eventname LIKE 'PutTargets%'
          OR eventname LIKE 'RemovePermission%'
          OR eventname LIKE 'RemoveTargets%'
      ))
      OR (eventsource = 'sns.amazonaws.com' AND (
             eventname LIKE 'DeleteTopic%'
          OR eventname LIKE 'SetSubscriptionAttributes%'
          OR eventname LIKE 'SetTopicAttributes%'
          OR eventname LIKE 'Unsubscribe%'
      ))
      OR (eventsource = 'sqs.amazonaws.com' AND (
             eventname LIKE 'DeleteQueue%'
          OR eventname LIKE 'PurgeQueue%'
          OR eventname LIKE 'SetQueueAttributes%'
      ))
    )
) TO '{{OUTPUT}}'
WITH (format = 'JSON')
