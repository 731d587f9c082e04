#!/usr/bin/env python3
"""The reference client: every pod listed in pages of 500 as JSON, no gzip (kubectl's and
kube-runtime's consistent paged list)."""
import json, ssl, urllib.request, urllib.parse

token = open("/tmp/realapi/admin.token").read().strip()
context = ssl.create_default_context(cafile="/tmp/realapi/pki/ca.crt")
continue_token, count = "", 0
while True:
    import sys
    query = {"limit": sys.argv[1] if len(sys.argv) > 1 else "500"}
    if continue_token:
        query["continue"] = continue_token
    url = "https://127.0.0.1:6443/api/v1/pods?" + urllib.parse.urlencode(query)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}",
                                                   "Accept": "application/json"})
    with urllib.request.urlopen(request, context=context) as response:
        page = json.load(response)
    count += len(page["items"])
    continue_token = page["metadata"].get("continue", "")
    if not continue_token:
        break
print(count)
