"""The Prefect server image's health check: GET /api/health, with the server's auth string when
it has one (PREFECT_SERVER_API_AUTH_STRING, user:password)."""

import base64
import os
import sys
import urllib.request

port = os.environ.get("PREFECT_SERVER_API_PORT", "4200")
request = urllib.request.Request(f"http://127.0.0.1:{port}/api/health")
auth = os.environ.get("PREFECT_SERVER_API_AUTH_STRING")
if auth:
    request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
try:
    with urllib.request.urlopen(request, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
