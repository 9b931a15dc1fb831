"""The cold-start benchmark's Python comparison: the authorizer's forward style in Python,
as a team would write it with boto3 and requests.

Per event it reads the API key from DynamoDB (KEYS_TABLE, strongly consistent), calls the
validation endpoint (AUTHORIZER_CONFIG's defaultURI) with the caller's bearer token, copies
the configured fields of its JSON answer into the context, and answers an Allow policy.

The Runtime API loop is the smallest possible (urllib), lighter than Lambda's own Python
bootstrap, so the comparison flatters Python. JSONPath is reduced to `$.field`.
"""

import json
import os
import urllib.request

import boto3
import requests

RUNTIME = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
CONFIG = json.loads(os.environ["AUTHORIZER_CONFIG"])
VALIDATION_URI = CONFIG["token_validation_uri"]["defaultURI"]
INJECT = CONFIG.get("inject_headers", {})
TABLE = boto3.client("dynamodb")
KEYS_TABLE = os.environ["KEYS_TABLE"]
HTTP = requests.Session()


def deny(event, reason):
    return policy(event, "Deny", {"error": reason})


def policy(event, effect, context):
    return {
        "principalId": context.get("X-User-Id", "anonymous"),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}
            ],
        },
        "context": context,
    }


def handle(event):
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    api_key = headers.get("x-api-key")
    if not api_key:
        return deny(event, "ApiKeyNotPresentInRequest")
    item = TABLE.get_item(
        TableName=KEYS_TABLE, Key={"key_id": {"S": api_key}}, ConsistentRead=True
    ).get("Item")
    if not item or item.get("status", {}).get("S") != "active":
        return deny(event, "InvalidApiKey")
    authorization = headers.get("authorization", "")
    if not authorization.startswith("Bearer "):
        return deny(event, "AccessTokenNotPresentInRequest")
    answer = HTTP.get(VALIDATION_URI, headers={"Authorization": authorization}, timeout=5)
    if answer.status_code != 200:
        return deny(event, "InvalidAccessToken")
    claims = answer.json()
    context = {}
    for header, path in INJECT.items():
        value = claims.get(path.removeprefix("$."))
        if value is not None:
            context[header] = str(value)
    return policy(event, "Allow", context)


def main():
    while True:
        with urllib.request.urlopen(RUNTIME + "/invocation/next") as invocation:
            request_id = invocation.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(invocation.read())
        body = json.dumps(handle(event)).encode()
        answer = urllib.request.Request(
            RUNTIME + "/invocation/" + request_id + "/response", data=body, method="POST"
        )
        urllib.request.urlopen(answer).close()


if __name__ == "__main__":
    main()
