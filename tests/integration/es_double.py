# SPDX-License-Identifier: Apache-2.0
"""es_double.py -- a TEST DOUBLE of Elasticsearch's `_bulk` API, not a server.

No Elasticsearch server is packaged in Debian, so the integration tests of the
`elasticsearch` sink talk to this stand-in instead. It implements only the part
of the `_bulk` contract hostpulse uses, and is strict about it:

- POST /_bulk (or /INDEX/_bulk) with Content-Type application/x-ndjson, body
  optionally gzip-compressed (Content-Encoding: gzip);
- the body is pairs of lines: an action {"index":{"_index":..,"_id":..}} and
  the document (a JSON object); the last line must end with a newline;
- the answer lists one result per item, in order:
  {"took":N,"errors":bool,"items":[{"index":{"_index":..,"_id":..,"status":201}}]};
- GET / answers a cluster banner (for --check --connect).

A request that breaks the contract is answered 400 and recorded in
`protocol_errors`, which the tests expect to stay empty. Failures can be
injected: fail_requests([429, 503]) answers the next requests with those
statuses; fail_items(predicate, status, times) gives matching items that
status (400 mapper_parsing_exception, 429 ...) `times` times each.
max_content_length (bytes of the decompressed body, as Elasticsearch's
http.max_content_length) answers a bigger request 413 before reading its
items; `rejected_413` counts those. poison_requests(predicate) answers 400
(x_content_parse_exception) to any request holding a document that matches:
the whole request is refused, as Elasticsearch does for a body it cannot
parse; `rejected_400` counts those.
hang(seconds) makes it accept connections and read requests but answer
none until that many seconds have passed (a hung node); a held request is
answered afterwards (a client that gave up by then sees nothing).

Standard library only; runs in a thread on 127.0.0.1 with a free port:

    with EsDouble() as es:
        ... es.url ... es.docs[(index, id)] ... es.attempts[id] ...
"""
import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EsDouble:
    def __init__(self):
        self.lock = threading.Lock()
        self.docs = {}            # (index, _id) -> document (last written)
        self.attempts = {}        # _id -> how many times it was offered
        self.statuses = {}        # _id -> list of the statuses answered
        self.requests = 0         # bulk requests received
        self.gzipped = 0          # of which gzip-compressed
        self.auth = set()         # Authorization headers seen
        self.protocol_errors = []
        self._fail_requests = []  # statuses for the next whole requests
        self._fail_items = []     # [predicate, status, times left per _id, dict]
        self.max_content_length = None  # bytes of the decompressed body, or None
        self.rejected_413 = 0     # requests answered 413
        self._poison = None       # predicate(meta, doc): the whole request gets 400
        self.rejected_400 = 0     # requests answered 400 by poison_requests
        self.hang_until = 0.0     # time.monotonic() before which no request is answered
        self.held = 0             # requests held by a hang
        self.server = None
        self.thread = None

    # -- control ---------------------------------------------------------

    def fail_requests(self, statuses):
        with self.lock:
            self._fail_requests.extend(statuses)

    def fail_items(self, predicate, status, times=1):
        """predicate(action_meta, document) -> bool; matching items get
        `status` the first `times` times each is offered."""
        with self.lock:
            self._fail_items.append([predicate, status, times, {}])

    def poison_requests(self, predicate):
        with self.lock:
            self._poison = predicate

    def hang(self, seconds):
        with self.lock:
            self.hang_until = time.monotonic() + seconds

    def wait_out_hang(self):
        with self.lock:
            until = self.hang_until
            if until > time.monotonic():
                self.held += 1
        while time.monotonic() < until:
            time.sleep(min(0.2, max(0.0, until - time.monotonic())))

    def ids(self):
        with self.lock:
            return {i for (_, i) in self.docs}

    # -- server ----------------------------------------------------------

    def start(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                double.wait_out_hang()
                if self.path == "/":
                    self.reply(200, {"name": "es-double", "cluster_name": "test-double",
                                     "version": {"number": "8.0.0-double"},
                                     "tagline": "You Know, for Search"})
                else:
                    self.reply(404, {"error": {"type": "not_found"}, "status": 404})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                double.wait_out_hang()
                if not (self.path == "/_bulk" or self.path.endswith("/_bulk")):
                    return self.reply(404, {"error": {"type": "not_found"}, "status": 404})
                status, body = double.bulk(self.headers, raw)
                self.reply(status, body)

            def reply(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a hang() outlived its timeout)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- the _bulk contract ----------------------------------------------

    def protocol_error(self, reason):
        with self.lock:
            self.protocol_errors.append(reason)
        return 400, {"error": {"type": "illegal_argument_exception", "reason": reason},
                     "status": 400}

    def parse(self, headers, raw):
        """-> (list of (meta, document), None) or (None, reason)."""
        ctype = headers.get("Content-Type", "")
        if not ctype.startswith("application/x-ndjson"):
            return None, "Content-Type must be application/x-ndjson, not %r" % ctype
        if headers.get("Content-Encoding", "") == "gzip":
            try:
                raw = gzip.decompress(raw)
            except OSError as e:
                return None, "bad gzip body: %s" % e
        elif headers.get("Content-Encoding"):
            return None, "unknown Content-Encoding %r" % headers.get("Content-Encoding")
        text = raw.decode("utf-8")
        if not text.endswith("\n"):
            return None, "the bulk request must be terminated by a newline"
        lines = text[:-1].split("\n")
        if len(lines) % 2:
            return None, "an action line without its document"
        pairs = []
        for i in range(0, len(lines), 2):
            try:
                action, doc = json.loads(lines[i]), json.loads(lines[i + 1])
            except ValueError as e:
                return None, "line %d is not JSON: %s" % (i + 1, e)
            if not isinstance(action, dict) or list(action) != ["index"]:
                return None, "line %d: expected an index action, got %r" % (i + 1, lines[i])
            meta = action["index"]
            if not isinstance(meta.get("_index"), str) or not isinstance(meta.get("_id"), str):
                return None, "line %d: action without _index/_id" % (i + 1)
            if not isinstance(doc, dict):
                return None, "line %d: the document is not an object" % (i + 2)
            pairs.append((meta, doc))
        return pairs, None

    def item_status(self, meta, doc):
        for rule in self._fail_items:
            predicate, status, times, used = rule
            if used.get(meta["_id"], 0) < times and predicate(meta, doc):
                used[meta["_id"]] = used.get(meta["_id"], 0) + 1
                return status
        return 201

    def bulk(self, headers, raw):
        start = time.monotonic()
        with self.lock:
            self.requests += 1
            if headers.get("Content-Encoding") == "gzip":
                self.gzipped += 1
            if headers.get("Authorization"):
                self.auth.add(headers.get("Authorization"))
            if self._fail_requests:
                status = self._fail_requests.pop(0)
                return status, {"error": {"type": "injected", "reason": "injected %d" % status},
                                "status": status}
        if self.max_content_length is not None:
            body = raw
            if headers.get("Content-Encoding") == "gzip":
                try:
                    body = gzip.decompress(raw)
                except OSError:
                    pass  # parse() reports it
            if len(body) > self.max_content_length:
                with self.lock:
                    self.rejected_413 += 1
                return 413, {"error": {"type": "content_too_long_exception",
                                       "reason": "request body too large"}, "status": 413}
        pairs, reason = self.parse(headers, raw)
        if pairs is None:
            return self.protocol_error(reason)
        with self.lock:
            if self._poison and any(self._poison(m, d) for m, d in pairs):
                self.rejected_400 += 1
                return 400, {"error": {"type": "x_content_parse_exception",
                                       "reason": "[1:2] failed to parse (injected)"},
                             "status": 400}
        items, errors = [], False
        with self.lock:
            for meta, doc in pairs:
                _id = meta["_id"]
                status = self.item_status(meta, doc)
                self.attempts[_id] = self.attempts.get(_id, 0) + 1
                self.statuses.setdefault(_id, []).append(status)
                res = {"_index": meta["_index"], "_id": _id, "status": status}
                if status < 300:
                    self.docs[(meta["_index"], _id)] = doc
                    res["result"] = "created"
                else:
                    errors = True
                    res["error"] = ({"type": "mapper_parsing_exception",
                                     "reason": "failed to parse (injected)"} if status == 400
                                    else {"type": "es_rejected_execution_exception",
                                          "reason": "injected %d" % status})
                items.append({"index": res})
        took = int((time.monotonic() - start) * 1000)
        return 200, {"took": took, "errors": errors, "items": items}
