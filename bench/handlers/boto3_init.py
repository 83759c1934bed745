"""A realistic init: the AWS SDK imported and a client created at init, as most functions do."""
import boto3

s3 = boto3.client("s3", region_name="us-east-1")


def handler(event, context):
    return {"ok": True, "client": type(s3).__name__}
