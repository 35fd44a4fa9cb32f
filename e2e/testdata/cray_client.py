"""What the Cray CLI's `cray artifacts` does with stsgate, step by step.

PUT the token route with requests, then use the Token document's keys and
EndpointURL with boto3 (region_name='' as the Cray CLI passes it): list,
put with metadata, a multipart upload over 8 MiB, head, a presigned GET,
delete. Run by e2e/clients_test.go:

    STSGATE_BEARER=<jwt> python3 cray_client.py TOKEN_URL BUCKET

It prints one line per step and exits 1 with the reason on the first
failure. The bearer token comes from the environment so that it never
shows in a process list.
"""
import datetime
import io
import os
import sys

import boto3
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config


def step(name):
    print("ok:", name, flush=True)


def main(token_url, bucket):
    bearer = os.environ["STSGATE_BEARER"]
    r = requests.put(token_url, headers={"Authorization": "Bearer " + bearer}, timeout=30)
    if r.status_code != 201:
        raise SystemExit("PUT token: %d %s" % (r.status_code, r.text))
    if r.headers.get("Cache-Control") != "no-store":
        raise SystemExit("PUT token: Cache-Control %r" % r.headers.get("Cache-Control"))
    creds = r.json()["Credentials"]
    expiration = datetime.datetime.fromisoformat(creds["Expiration"])
    if expiration.utcoffset() != datetime.timedelta(0):
        raise SystemExit("Expiration %r is not UTC" % creds["Expiration"])
    step("PUT token (Expiration %s)" % creds["Expiration"])

    session = dict(
        endpoint_url=creds["EndpointURL"],
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    # The Cray CLI passes region_name='' for the object calls. botocore's
    # endpoint rules refuse an empty region for a call without a bucket
    # (ListBuckets), and presigned URLs need SigV4 for session credentials
    # (boto3 presigns with SigV2 when no region is set, which MinIO
    # refuses): those two go through a client with a region and s3v4.
    s3 = boto3.client("s3", region_name="", **session)
    s3v4 = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"), **session)
    s3.create_bucket(Bucket=bucket)
    step("create bucket")
    names = [b["Name"] for b in s3v4.list_buckets()["Buckets"]]
    if bucket not in names:
        raise SystemExit("list_buckets: %s not in %s" % (bucket, names))
    step("list buckets")

    s3.put_object(Bucket=bucket, Key="small.txt", Body=b"hello from boto3",
                  Metadata={"owner": "cray-cli", "purpose": "stsgate e2e"})
    head = s3.head_object(Bucket=bucket, Key="small.txt")
    if head["Metadata"].get("owner") != "cray-cli" or head["ContentLength"] != 16:
        raise SystemExit("head_object: %r" % head)
    step("put with metadata, head")

    big = os.urandom(9 * 1024 * 1024)  # over 8 MiB: a multipart upload
    transfer = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(big), bucket, "big.bin", Config=transfer)
    got = io.BytesIO()
    s3.download_fileobj(bucket, "big.bin", got)
    if got.getvalue() != big:
        raise SystemExit("multipart round trip: %d bytes back of %d" % (len(got.getvalue()), len(big)))
    step("multipart upload of 9 MiB, download")

    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    if sorted(listed) != ["big.bin", "small.txt"]:
        raise SystemExit("list_objects_v2: %r" % listed)
    step("list objects")

    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "small.txt"}, ExpiresIn=300)
    g = requests.get(url, timeout=30)
    if g.status_code != 200 or g.content != b"hello from boto3":
        raise SystemExit("presigned GET: %d %s" % (g.status_code, g.text[:200]))
    step("presigned GET")

    for key in ("small.txt", "big.bin"):
        s3.delete_object(Bucket=bucket, Key=key)
    if s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) != 0:
        raise SystemExit("objects left after delete")
    s3.delete_bucket(Bucket=bucket)
    step("delete")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
