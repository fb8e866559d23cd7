#!/usr/bin/env bash
# Hostile requests to the gateway over a raw socket (issue 13, "A hostile
# world"): every malformed, oversized or unsupported request gets the
# platform's JSON error body with a Case-ID header equal to its case_id —
# never HTML, never a 5xx for the client's fault (505 for an HTTP/2.0 request
# line and 501 for an unknown Transfer-Encoding are the gateway's protocol
# answers). The GET forms of a 1000-user group must pass the gateway.
# Works against any gateway in $GATEWAY: the stack of scripts/test, or a
# private nginx rendered from nginx/nginx.conf.template in front of a stub.
source "$(dirname "$0")/_lib.bash"
command -v python3 >/dev/null || fail "python3 is needed to send raw requests"

python3 - "$GATEWAY" "$RUN_TAG" <<'PY' || fail "hostile requests (see above)"
import json, socket, sys, urllib.parse

gateway, tag = sys.argv[1], sys.argv[2]
url = urllib.parse.urlsplit(gateway)
HOST, PORT = url.hostname, url.port or 80
H = b"Host: w2meet.test\r\nConnection: close\r\n"
problems, table = [], []


def send(raw, timeout=15):
    """Sends raw bytes on a fresh connection, returns every byte until close."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    data = b""
    try:
        try:
            s.sendall(raw)
        except OSError:
            pass  # the gateway may answer and close before reading it all
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout) as e:
        if not data:
            raise RuntimeError(f"no answer ({type(e).__name__})")
    finally:
        s.close()
    return data


def parse(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if not sep or not parts[0].startswith("HTTP/1.") or len(parts) < 2 or not parts[1].isdigit():
        return None, {}, data
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    if "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return int(parts[1]), headers, body


def error_body(body, what):
    """The error body's JSON, or None (with a problem noted)."""
    try:
        doc = json.loads(body)
        d0 = doc["detail"][0]
        assert isinstance(doc["case_id"], str) and doc["case_id"]
        assert {"loc", "msg", "type"} <= set(d0) and isinstance(d0["loc"], list)
        return doc
    except Exception:
        problems.append(f"{what}: not the JSON error body: {body[:300]!r}")
        return None


def check(what, raw, statuses, typ=None, case_id=None, allow=False, msg_has=()):
    """One hostile request: the answer's status is one of `statuses`, with
    the JSON error body whose case_id is the Case-ID header (`case_id` when
    given: the client's own), of detail type `typ`."""
    try:
        data = send(raw)
    except Exception as e:
        problems.append(f"{what}: {e}")
        return
    status, headers, body = parse(data)
    if status is None:
        problems.append(f"{what}: no HTTP/1.x response: {data[:200]!r}")
        return
    table.append((what, status, "?"))
    if status not in statuses:
        problems.append(f"{what}: status {status}, expected {statuses}: {body[:200]!r}")
    if status >= 500 and status not in (501, 505):
        problems.append(f"{what}: a 5xx ({status}) for the client's fault")
    if not headers.get("content-type", "").startswith("application/json"):
        problems.append(f"{what}: Content-Type {headers.get('content-type')!r}, not JSON: {body[:200]!r}")
    doc = error_body(body, what)
    if doc is None:
        return
    cid = headers.get("case-id")
    if not cid or cid != doc["case_id"]:
        problems.append(f"{what}: Case-ID header {cid!r} is not the body's case_id {doc['case_id']!r}")
    if case_id is not None and doc["case_id"] != case_id:
        problems.append(f"{what}: the client's Case-ID {case_id!r} was replaced by {doc['case_id']!r}")
    if typ is not None and doc["detail"][0]["type"] != typ:
        problems.append(f"{what}: detail type {doc['detail'][0]['type']!r}, expected {typ!r}")
    for text in msg_has:
        if text not in doc["detail"][0]["msg"]:
            problems.append(f"{what}: the message does not mention {text!r}: {doc['detail'][0]['msg']!r}")
    if allow and not headers.get("allow"):
        problems.append(f"{what}: a 405 without Allow")
    table[-1] = (what, status, doc["detail"][0]["type"])


def emails(n):
    # 40 characters each, a realistic length
    return ",".join(f"hostile.user.{i:04d}@example-enterprise.org" for i in range(n))


assert len(emails(1)) == 40
GATEWAY_TYPES = {"uri_too_long", "bad_request", "header_too_large"}


def passes_gateway(what, raw):
    """A request the gateway must forward: whatever the service answers
    (a 404 for unknown users, 200 ...), not the gateway's refusal."""
    try:
        data = send(raw, timeout=60)
    except Exception as e:
        problems.append(f"{what}: {e}")
        return
    status, headers, body = parse(data)
    if status is None:
        problems.append(f"{what}: no HTTP/1.x response: {data[:200]!r}")
        return
    kind = ""
    try:
        kind = json.loads(body)["detail"][0]["type"]
    except Exception:
        pass
    table.append((what, status, kind or "(not an error body)"))
    if status in (414, 431) or kind in GATEWAY_TYPES or status >= 500:
        problems.append(f"{what}: refused ({status} {kind!r}): {body[:200]!r}")


line = lambda target: b"GET " + target + b" HTTP/1.1\r\n" + H + b"\r\n"

# -- 1. long request lines: 1000 users fit, longer ones get a 414 that points
# to the POST forms
for n in (500, 1000):
    q = emails(n).encode()
    passes_gateway(f"GET availability, {n} users ({len(q) // 1024} KiB)", line(b"/availability/availabilities?users=" + q))
    passes_gateway(f"GET users, {n} emails", line(b"/users/users?emails=" + q))
# percent-encoded @ and , (as urlencode sends them): 45 KiB
q = urllib.parse.quote(emails(1000), safe="").encode()
passes_gateway("GET availability, 1000 users percent-encoded", line(b"/availability/availabilities?users=" + q))
too_long = emails(2000).encode()  # 82 KB
post_forms = ("POST /availability/availabilities", "POST /users/users/batch")
check("GET availability, 2000 users", line(b"/availability/availabilities?users=" + too_long), {414}, "uri_too_long", msg_has=post_forms)
check("GET users, 2000 emails", line(b"/users/users?emails=" + too_long), {414}, "uri_too_long", msg_has=post_forms)

# -- 2. request lines nginx cannot parse: 400
bad_lines = {
    "bad percent-encoding %zz": b"GET /users/users/%zz HTTP/1.1\r\n",
    "a bare %": b"GET /users/users/% HTTP/1.1\r\n",
    "a bare % at the root": b"GET /% HTTP/1.1\r\n",
    "an encoded NUL %00": b"GET /users/users/%00 HTTP/1.1\r\n",
    "a NUL byte": b"GET /users/users/a\x00b HTTP/1.1\r\n",
    "a raw space in the URI": b"GET /users/users/a b@x.io HTTP/1.1\r\n",
    "a lowercase method": b"get /users/users HTTP/1.1\r\n",
    "OPTIONS *": b"OPTIONS * HTTP/1.1\r\n",
    "CONNECT host:port": b"CONNECT example.com:443 HTTP/1.1\r\n",
    "a path above the root": b"GET /users/../../etc/passwd HTTP/1.1\r\n",
    "a bare CR": b"GET /users/users HTTP/1.1\r",
    "a garbage version": b"GET /users/users HTTP/1.x\r\n",
    "HTTP/0.9 as a version": b"GET / HTTP/0.9\r\n",
    "the HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n",
}
for what, first in bad_lines.items():
    check(what, first + H + b"\r\n", {400}, "bad_request")
# A TLS ClientHello sent to the plain port: nginx reads it as a request line.
hello = bytes.fromhex("16030100a5010000a10303") + bytes(32) + bytes.fromhex("000004c02fc030010000740000001000")
check("TLS handshake bytes", hello + bytes(64), {400}, "bad_request")
check("binary garbage", b"\xff\xfe\xfd\x00\x01\r\n\r\n", {400}, "bad_request")

# absolute-form is valid HTTP/1.1 (RFC 9112 §3.2.2): routed by its path (/ is
# the web app, so an unknown path shows it)
check("absolute-form URI", line(b"http://x/nowhere"), {404}, "not_found")
check("absolute-form URI, unknown scheme", line(b"ftp://x/nowhere"), {404}, "not_found")

# -- headers
check("duplicate Host", b"GET /users/users HTTP/1.1\r\nCase-ID: hostile-dup-" + tag.encode()
      + b"\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n", {400}, "bad_request", case_id="hostile-dup-" + tag)
check("obsolete line folding", b"GET /users/users HTTP/1.1\r\n" + H + b"X-A: 1\r\n folded\r\n\r\n", {400}, "bad_request")
check("HTTP/1.1 without Host", b"GET /users/users HTTP/1.1\r\nConnection: close\r\n\r\n", {400}, "bad_request")
check("an invalid Host", b"GET /users/users HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n", {400}, "bad_request")
check("a NUL in a header value", b"GET /users/users HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", {400}, "bad_request")
check("a very long header name (70 KB)", b"GET /users/users HTTP/1.1\r\n" + H + b"X-" + b"n" * 70000 + b": 1\r\n\r\n",
      {400, 431}, "header_too_large")
check("a header over the limit (70 KB)", b"GET /users/users HTTP/1.1\r\nCase-ID: hostile-431-" + tag.encode() + b"\r\n"
      + H + b"Cookie: " + b"c" * 70000 + b"\r\n\r\n", {400, 431}, "header_too_large", case_id="hostile-431-" + tag)
check("headers over the limit in all (10 x 15 KB)", b"GET /users/users HTTP/1.1\r\n" + H
      + b"".join(b"X-H%d: " % i + b"h" * 15000 + b"\r\n" for i in range(10)) + b"\r\n", {400, 431}, "header_too_large")
# ... while a 9 KB header (over nginx's default 8 KB buffers) passes
try:
    st, _, b = parse(send(b"GET /health HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n"))
    table.append(("a 9 KB header to /health", st, b[:20].decode("latin-1")))
    if st != 200:
        problems.append(f"a 9 KB header: {st} {b[:200]!r}")
except Exception as e:
    problems.append(f"a 9 KB header: {e}")

# -- bodies
check("Content-Length and Transfer-Encoding", b"POST /users/users HTTP/1.1\r\n" + H
      + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", {400}, "bad_request")
check("an invalid Content-Length", b"POST /users/users HTTP/1.1\r\n" + H + b"Content-Length: abc\r\n\r\n", {400}, "bad_request")
check("an invalid chunk", b"POST /users/users HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", {400}, "bad_request")
check("an unknown Transfer-Encoding", b"POST /users/users HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n",
      {501}, "not_implemented")
check("a body over the limit (1 GiB announced)", b"POST /users/users HTTP/1.1\r\n" + H
      + b"Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n", {413}, "payload_too_large")
check("a bad request announcing a large body", b"POST /users/users HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
      b"Content-Length: 1073741824\r\nConnection: close\r\n\r\n", {400}, "bad_request")

# -- methods, versions, routes
check("TRACE", b"TRACE /users/users HTTP/1.1\r\n" + H + b"\r\n", {405}, "method_not_allowed", allow=True)
check("an HTTP/2.0 request line", b"GET /users/users HTTP/2.0\r\n" + H + b"\r\n", {505}, "http_version_not_supported")
check("an HTTP/3.0 request line", b"GET /users/users HTTP/3.0\r\n" + H + b"\r\n", {505}, "http_version_not_supported")
for prefix in (b"/users", b"/availability", b"/suggestion", b"/worker", b"/worker?x=1"):
    check(f"GET {prefix.decode()} (no slash)", line(prefix), {404}, "not_found")
check("the gateway's own error page", line(b"/__gateway/400"), {404}, "not_found")

# -- HTTP/0.9 ("GET /" and no version) has no status line and no headers:
# the answer is the bare JSON error body (its case_id cannot be a header)
for what, raw in {"HTTP/0.9": b"GET /\r\n", "HTTP/0.9 to a service": b"GET /users/users/a@x.io\r\n",
                  "HTTP/0.9 POST": b"POST /users/users\r\n"}.items():
    try:
        data = send(raw)
    except Exception as e:
        problems.append(f"{what}: {e}")
        continue
    if data.startswith(b"HTTP/") or b"<html" in data.lower():
        problems.append(f"{what}: expected a bare JSON body, got {data[:200]!r}")
        continue
    doc = error_body(data, what)
    table.append((what, "-", doc["detail"][0]["type"] if doc else "?"))

for what, status, kind in table:
    print(f"  {status!s:>4} {kind:28} {what}")
if problems:
    print("\n".join("FAIL: " + p for p in problems), file=sys.stderr)
    sys.exit(1)
PY
echo "hostile requests pass"
