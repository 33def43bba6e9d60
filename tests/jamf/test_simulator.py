"""The simulator itself keeps the contract the reference describes, so a test against it means
something: tokens and S3 credentials expire when they say, errors have Jamf's shape."""

from __future__ import annotations

import time

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.fixtures.jamf_pro_run import Simulator
from tests.jamf.conftest import MiB, payload


def _token(jamf: Simulator) -> str:
    answer = httpx.post(
        f"{jamf.url}/api/oauth/token",
        data={
            "client_id": "pomona-client",
            "client_secret": "client-secret",
            "grant_type": "client_credentials",
        },
    )
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


def test_tokens_expire_and_errors_have_jamfs_shape(jamf: Simulator) -> None:
    jamf.state.token_seconds = 1
    headers = {"Authorization": f"Bearer {_token(jamf)}"}
    assert httpx.get(f"{jamf.url}/api/v1/jamf-pro-version", headers=headers).status_code == 200
    missing = httpx.get(f"{jamf.url}/api/v1/packages/999", headers=headers)
    assert missing.json() == {
        "httpStatus": 404,
        "errors": [
            {"code": "NOT_FOUND", "description": "Package not found", "id": "0", "field": None}
        ],
    }
    time.sleep(1.1)
    assert httpx.get(f"{jamf.url}/api/v1/jamf-pro-version", headers=headers).status_code == 401
    basic = httpx.post(f"{jamf.url}/api/v1/auth/token", auth=("jamfadmin", "jamf-password"))
    assert basic.json()["expires"].endswith("Z")
    wrong = httpx.post(f"{jamf.url}/api/v1/auth/token", auth=("jamfadmin", "nope"))
    assert wrong.status_code == 401


def test_jcds_credentials_are_enforced_by_the_bucket(jamf: Simulator) -> None:
    jamf.state.credential_seconds = 4  # room for a loaded machine
    headers = {"Authorization": f"Bearer {_token(jamf)}"}
    creds = httpx.post(f"{jamf.url}/api/v1/jcds/files", headers=headers).json()
    s3 = boto3.client(
        "s3",
        endpoint_url=jamf.s3_url,
        region_name=creds["region"],
        aws_access_key_id=creds["accessKeyID"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
        config=Config(retries={"max_attempts": 1}),
    )
    key = creds["path"] + "A.pkg"
    upload = s3.create_multipart_upload(Bucket=creds["bucketName"], Key=key)["UploadId"]
    data = payload(5 * MiB)
    part = s3.upload_part(
        Bucket=creds["bucketName"], Key=key, UploadId=upload, PartNumber=1, Body=data
    )
    s3.complete_multipart_upload(
        Bucket=creds["bucketName"],
        Key=key,
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    listed = httpx.get(f"{jamf.url}/api/v1/jcds/files", headers=headers).json()
    assert listed[0]["fileName"] == "A.pkg"
    assert listed[0]["length"] == len(data)
    assert jamf.state.guard.parts[(f"/{creds['bucketName']}/{key}", 1)] == 1
    time.sleep(max(0.0, creds["expiration"] + 1 - time.time()) + 0.1)  # whole seconds
    with pytest.raises(ClientError, match="ExpiredToken"):
        s3.get_object(Bucket=creds["bucketName"], Key=key)
