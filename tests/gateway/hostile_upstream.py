#!/usr/bin/env python3
"""A hostile OpenAI-compatible upstream for regiongate's hostile-upstream integration test.

Everything it sends that the gateway might copy somewhere is chosen to hurt: model ids and
versions on GET /v1/models, region evidence in a response header and in a body field, the
response's Content-Type and model. Values carry CR/LF (to split the client's response), NUL,
bytes above 0x7f, 10 KB strings and a new invented region name on every answer.

The test picks the shape of each answer through the request: the last message's content is
"shape=NAME n=N in=header|body" (N makes the invented names distinct; `in` says which evidence
carries the shape, the other one carries the plain name). POST /v1/chat/completions answers:
  header evidence (x-upstream-region), written raw, byte for byte:
    plain    invented-region-N
    crlf     invented-region-N, then a CR/LF and an injected header line
    nul      a NUL inside the value
    highbit  bytes 0xff 0xfe inside the value
    long     7 000 bytes (the head stays under the gateway's 8 KiB head limit)
    huge     10 KB (the head is over the limit)
  body evidence (hostile.region, a JSON string) for the same shapes: CR/LF, NUL (\\u0000),
  U+00FF, 7 000 and 10 KB strings. Every answer's Content-Type and x-model-version carry a CR/LF
  and an injected header line too, and its "model" a CR/LF and a NUL.
  "stream": true answers with SSE (the body evidence in the last chunk).
GET /v1/models: per call, the configured models (--model) with hostile versions, a valid but new
version for each --rotating-model (r1, r2, ...: one per call), and 50 new hostile model ids
(distinct over the run). GET /health: 200.

Listens on 127.0.0.1 (port 0 = any free port) and prints "listening on PORT" when ready."""
import argparse
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20
INJECTED = 'x-injected-by-upstream'
SHAPE = re.compile(r'shape=([a-z]+) n=([0-9]+) in=(header|body)')


def header_region(shape, n):
    """The raw bytes of the x-upstream-region value."""
    name = b'invented-region-%d' % n
    return {
        'plain': name,
        'crlf': name + b'\r\n' + INJECTED.encode() + b': evidence',
        'nul': name + b'\x00tail',
        'highbit': name + b'-\xff\xfe',
        'long': name + b'-' + b'x' * 7000,
        'huge': name + b'-' + b'x' * 10240,
    }.get(shape, name)


def body_region(shape, n):
    """The hostile.region string of the body (JSON-encoded by the caller)."""
    name = 'invented-region-%d' % n
    return {
        'plain': name,
        'crlf': name + '\r\n' + INJECTED + ': evidence',
        'nul': name + '\x00tail',
        'highbit': name + '-\u00ff',
        'long': name + '-' + 'x' * 7000,
        'huge': name + '-' + 'x' * 10240,
    }.get(shape, name)


def completion(model, region, stream):
    hostile_model = model + '\r\n' + INJECTED + ': model\x00'
    usage = {'prompt_tokens': 5, 'completion_tokens': 2, 'total_tokens': 7}
    if not stream:
        return json.dumps({
            'id': 'cmpl-hostile', 'object': 'chat.completion', 'model': hostile_model,
            'choices': [{'index': 0, 'finish_reason': 'stop',
                         'message': {'role': 'assistant', 'content': 'hostile reply'}}],
            'usage': usage, 'hostile': {'region': region}}).encode()
    chunks = [
        {'id': 'cmpl-hostile', 'object': 'chat.completion.chunk', 'model': hostile_model,
         'choices': [{'index': 0, 'delta': {'role': 'assistant', 'content': 'hostile reply'}}]},
        {'id': 'cmpl-hostile', 'object': 'chat.completion.chunk', 'model': hostile_model,
         'choices': [], 'usage': usage, 'hostile': {'region': region}},
    ]
    return b''.join(b'data: ' + json.dumps(c).encode() + b'\n\n' for c in chunks) + \
        b'data: [DONE]\n\n'


class State:
    def __init__(self, models, rotating):
        self.models = models
        self.rotating = rotating
        self.lock = threading.Lock()
        self.models_calls = 0

    def next_models_call(self):
        with self.lock:
            self.models_calls += 1
            return self.models_calls


def models_body(state):
    call = state.next_models_call()
    versions = ['v2\r\n' + INJECTED + ': version', 'v\x00', 'v' * 10240, 'v\u00ff']
    data = []
    for i, name in enumerate(state.models):
        data.append({'id': name, 'object': 'model', 'version': versions[(call + i) % len(versions)]})
        data.append({'id': name + '@' + 'w' * 10240, 'object': 'model'})
    for name in state.rotating:
        data.append({'id': name, 'object': 'model', 'version': 'r%d' % call})
    for i in range(50):
        bad = ['evil-model-%d-%d\r\n%s: id' % (call, i, INJECTED),
               'evil-model-%d-%d\x00' % (call, i),
               'evil-model-%d-%d-' % (call, i) + 'm' * 10240][i % 3]
        data.append({'id': bad, 'object': 'model', 'version': 'v1'})
    return json.dumps({'object': 'list', 'data': data}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *a):  # keep test output quiet
        pass

    def send_raw(self, status, headers, body):
        """Writes the response byte for byte: header values are not checked or encoded."""
        head = b'HTTP/1.1 %d X\r\n' % status
        for name, value in headers:
            head += name + b': ' + value + b'\r\n'
        head += b'content-length: %d\r\n\r\n' % len(body)
        self.wfile.write(head + body)

    def do_GET(self):
        if self.path.endswith('/v1/models'):
            self.send_raw(200, [(b'content-type', b'application/json')],
                          models_body(self.server.state))
        elif self.path.endswith('/health'):
            self.send_raw(200, [(b'content-type', b'application/json')], b'{"status":"ok"}')
        else:
            self.send_raw(404, [(b'content-type', b'application/json')], b'{}')

    def do_POST(self):
        length = int(self.headers.get('content-length') or 0)
        if length > MAX_BODY:
            self.send_raw(413, [], b'')
            self.close_connection = True
            return
        try:
            req = json.loads(self.rfile.read(length) or b'{}')
            content = req['messages'][-1]['content']
        except (ValueError, KeyError, IndexError, TypeError):
            self.send_raw(400, [(b'content-type', b'application/json')], b'{}')
            return
        m = SHAPE.search(content)
        shape, n, where = (m.group(1), int(m.group(2)), m.group(3)) if m else ('plain', 0, '')
        stream = bool(req.get('stream'))
        body = completion(str(req.get('model', '')),
                          body_region(shape if where == 'body' else 'plain', n), stream)
        ctype = b'text/event-stream' if stream else b'application/json'
        self.send_raw(200, [
            (b'content-type', ctype + b'\r\n' + INJECTED.encode() + b': content-type'),
            (b'x-model-version', b'v9\r\n' + INJECTED.encode() + b': x-model-version'),
            (b'x-upstream-region', header_region(shape if where == 'header' else 'plain', n)),
        ], body)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--model', action='append', default=[], help='a model announced with hostile versions')
    p.add_argument('--rotating-model', action='append', default=[],
                   help='a model announced with a new valid version on every call')
    args = p.parse_args()
    server = ThreadingHTTPServer(('127.0.0.1', args.port), Handler)
    server.daemon_threads = True
    server.state = State(args.model, args.rotating_model)
    print('listening on %d' % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
