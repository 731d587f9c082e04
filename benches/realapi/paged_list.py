#!/usr/bin/env python3
"""Every pod of the real server (../shared/realapi/) listed in pages, without gzip: a consistent
paged read, as kubectl and kube-runtime read (JSON, pages of 500: the reference of
docs/performance.md, "The API server's side").

usage: paged_list.py json|protobuf [LIMIT]
"""
import json, re, ssl, sys, urllib.parse, urllib.request

ACCEPT = {"json": "application/json", "protobuf": "application/vnd.kubernetes.protobuf"}

encoding = sys.argv[1]
limit = sys.argv[2] if len(sys.argv) > 2 else "500"
token = open("/tmp/realapi/admin.token").read().strip()
context = ssl.create_default_context(cafile="/tmp/realapi/pki/ca.crt")
continue_token, size = "", 0
while True:
    query = {"limit": limit}
    if continue_token:
        query["continue"] = continue_token
    url = "https://127.0.0.1:6443/api/v1/pods?" + urllib.parse.urlencode(query)
    headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT[encoding]}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), context=context) as response:
        body = response.read()
    size += len(body)
    if encoding == "json":
        continue_token = json.loads(body)["metadata"].get("continue", "")
    else:
        # The ListMeta comes first; a continue token is base64 of {"v":...}.
        found = re.search(rb"eyJ2Ijoi[A-Za-z0-9_-]+", body[:400])
        continue_token = found.group(0).decode() if found else ""
    if not continue_token:
        break
print(size)
