#!/usr/bin/env python3
"""SigV4 with botocore (Debian's python3-botocore), the independent implementation the tests
compare regiongate's signer against. Run with /usr/bin/python3.

As a script: one JSON object on argv[1]
  {"method", "url", "headers": {name: value}, "body", "access_key", "secret_key", "token",
   "region", "service", "amz_date"}
prints {"authorization", "canonical_request", "string_to_sign"} as JSON.

As a module: expected_authorization(...) recomputes the Authorization header of a received
request from the headers it says it signed (the Bedrock stand-in uses it)."""
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(method, url, headers, body, access_key, secret_key, token, region, service, amz_date):
    """botocore's SigV4Auth.add_auth, with the clock replaced by amz_date."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    request.context['timestamp'] = amz_date
    auth = SigV4Auth(Credentials(access_key, secret_key, token or None), service, region)
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    signature = auth.signature(string_to_sign, request)
    auth._inject_signature_to_request(request, signature)
    return request.headers['Authorization'], canonical, string_to_sign


def expected_authorization(method, url, received_headers, body, access_key, secret_key, region,
                           service):
    """The Authorization botocore computes for a received request: only the headers the request
    names in SignedHeaders are signed again, at the request's own x-amz-date."""
    lower = {k.lower(): v for k, v in received_headers.items()}
    auth_header = lower.get('authorization', '')
    if 'SignedHeaders=' not in auth_header or 'x-amz-date' not in lower:
        return None
    signed = auth_header.split('SignedHeaders=')[1].split(',')[0].strip().split(';')
    if 'host' not in signed or 'x-amz-date' not in signed:
        return None
    headers = {name: lower[name] for name in signed if name in lower}
    if len(headers) != len(signed):
        return None
    token = lower.get('x-amz-security-token')
    authorization, _, _ = sign(method, url, headers, body, access_key, secret_key, token, region,
                               service, lower['x-amz-date'])
    return authorization


def main():
    a = json.loads(sys.argv[1])
    authorization, canonical, sts = sign(a['method'], a['url'], a['headers'],
                                         a['body'].encode(), a['access_key'], a['secret_key'],
                                         a.get('token', ''), a['region'], a['service'],
                                         a['amz_date'])
    print(json.dumps({'authorization': authorization, 'canonical_request': canonical,
                      'string_to_sign': sts}))


if __name__ == '__main__':
    main()
