#!/usr/bin/env python3
"""Every pod listed in pages of LIMIT as protobuf, no gzip (a consistent paged read)."""
import re, ssl, sys, urllib.request, urllib.parse
token = open("/tmp/realapi/admin.token").read().strip()
context = ssl.create_default_context(cafile="/tmp/realapi/pki/ca.crt")
limit, continue_token, size = sys.argv[1], "", 0
while True:
    query = {"limit": limit}
    if continue_token:
        query["continue"] = continue_token
    url = "https://127.0.0.1:6443/api/v1/pods?" + urllib.parse.urlencode(query)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}",
                                                   "Accept": "application/vnd.kubernetes.protobuf"})
    with urllib.request.urlopen(request, context=context) as response:
        body = response.read()
    size += len(body)
    found = re.search(rb"eyJ2Ijoi[A-Za-z0-9_-]+", body[:400])
    continue_token = found.group(0).decode() if found else ""
    if not continue_token:
        break
print(size)
