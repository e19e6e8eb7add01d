#!/usr/bin/env python3
"""Local stand-ins for managed LLM providers, for regiongate's provider conformance tests.

Each speaks its provider's wire format and checks what the real provider checks:
  --api azure      Azure OpenAI: POST /openai/deployments/D/chat/completions?api-version=V and
                   the v1 path /openai/v1/{chat/completions,responses,embeddings}; rejects a
                   missing or wrong api-key (401); answers with the x-ms-region header.
  --api anthropic  Anthropic Messages: POST /v1/messages; rejects a missing or wrong x-api-key
                   (401) or a missing anthropic-version (400); returns usage.inference_geo, in
                   streams too (message_start / content_block_delta / message_delta /
                   message_stop).
  --api openai     OpenAI: POST /v1/{chat/completions,completions,responses,embeddings};
                   rejects a missing or wrong bearer key (401). The Responses API answers in its
                   own format (whole, or the response.created / response.output_text.delta /
                   response.completed events), as on Azure's v1 path.
  --api bedrock    Bedrock runtime's OpenAI-compatible POST /openai/v1/chat/completions;
                   recomputes the SigV4 signature with botocore and rejects a bad one (403), or
                   accepts a Bedrock API key as a bearer token.

--geo sets where the stand-in says inference ran (Azure: a region display name such as
"Sweden Central"; Anthropic: an inference_geo such as "us"; Bedrock: sent in the
x-standin-region header, since Bedrock's OpenAI-compatible responses carry no region), so a test
can provoke a violation. POST /_standin/geo {"geo": "..."} changes it at run time;
GET /_standin/requests lists what was received (credential headers redacted, with the verdict).

Listens on 127.0.0.1 (port 0 = any free port) and prints "listening on PORT" when ready. Run with
/usr/bin/python3 (Debian's python3-botocore)."""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import botocore_sigv4

CREDENTIAL_HEADERS = {'api-key', 'x-api-key', 'authorization', 'x-amz-security-token'}
MAX_BODY = 1 << 20


class State:
    def __init__(self, args):
        self.args = args
        self.geo = args.geo
        self.requests = []
        self.lock = threading.Lock()

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)


def completion_text(body):
    """A deterministic reply that names the request's last message length."""
    messages = body.get('messages') or []
    last = messages[-1].get('content', '') if messages else body.get('input', '')
    return 'stand-in reply to %d characters' % len(json.dumps(last))


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'provider-standin/1'

    def log_message(self, fmt, *a):  # keep test output quiet
        pass

    @property
    def state(self):
        return self.server.state

    # -- plumbing -------------------------------------------------------------------------
    def read_body(self):
        n = int(self.headers.get('content-length') or 0)
        if n < 0 or n > MAX_BODY:
            return None
        return self.rfile.read(n)

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self, headers=None):
        self.send_response(200)
        self.send_header('content-type', 'text/event-stream')
        self.send_header('cache-control', 'no-cache')
        self.send_header('connection', 'close')
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True

    def sse(self, data, event=None):
        chunk = ''
        if event:
            chunk += 'event: %s\n' % event
        chunk += 'data: %s\n\n' % (data if isinstance(data, str) else json.dumps(data))
        self.wfile.write(chunk.encode())
        self.wfile.flush()

    def entry(self, body, verdict):
        return {
            'method': self.command,
            'path': self.path,
            'headers': {k.lower(): ('<redacted>' if k.lower() in CREDENTIAL_HEADERS else v)
                        for k, v in self.headers.items()},
            'body': body.decode('utf-8', 'replace'),
            'verdict': verdict,
        }

    # -- control --------------------------------------------------------------------------
    def do_GET(self):
        if self.path == '/_standin/requests':
            with self.state.lock:
                self.send_json(200, {'requests': list(self.state.requests)})
            return
        self.send_json(404, {'error': {'message': 'not found'}})

    def do_POST(self):
        body = self.read_body()
        if body is None:
            self.send_json(413, {'error': {'message': 'body too large'}})
            return
        if self.path == '/_standin/geo':
            self.state.geo = json.loads(body or b'{}').get('geo', self.state.geo)
            self.send_json(200, {'geo': self.state.geo})
            return
        api = self.state.args.api
        try:
            parsed = json.loads(body or b'{}')
        except ValueError:
            parsed = None
        if api == 'azure':
            self.azure(body, parsed)
        elif api == 'openai':
            self.openai(body, parsed)
        elif api == 'anthropic':
            self.anthropic(body, parsed)
        else:
            self.bedrock(body, parsed)

    # -- Azure OpenAI -----------------------------------------------------------------------
    def azure(self, body, parsed):
        url = urlsplit(self.path)
        parts = url.path.split('/')
        deployment_path = (len(parts) >= 5 and parts[1] == 'openai' and parts[2] == 'deployments')
        v1_path = url.path.startswith('/openai/v1/')
        if not (deployment_path or v1_path):
            self.state.record(self.entry(body, 'not_found'))
            self.send_json(404, {'error': {'code': '404', 'message': 'Resource not found'}})
            return
        if deployment_path and not parse_qs(url.query).get('api-version'):
            self.state.record(self.entry(body, 'missing_api_version'))
            self.send_json(404, {'error': {'code': '404', 'message': 'Resource not found'}})
            return
        key = self.headers.get('api-key')
        if key != self.state.args.key:
            self.state.record(self.entry(body, 'bad_api_key' if key else 'missing_api_key'))
            self.send_json(401, {'error': {'code': '401', 'message':
                                           'Access denied due to invalid subscription key or '
                                           'wrong API endpoint.'}})
            return
        if parsed is None:
            self.send_json(400, {'error': {'code': 'invalid_json', 'message': 'bad JSON'}})
            return
        self.state.record(self.entry(body, 'ok'))
        region = {'x-ms-region': self.state.geo}
        self.openai_answer(parsed, region)

    # -- OpenAI -----------------------------------------------------------------------------
    def openai(self, body, parsed):
        route = urlsplit(self.path).path
        if route not in ('/v1/chat/completions', '/v1/completions', '/v1/responses',
                         '/v1/embeddings'):
            self.state.record(self.entry(body, 'not_found'))
            self.send_json(404, {'error': {'type': 'invalid_request_error',
                                           'message': 'Invalid URL (POST %s)' % route}})
            return
        auth = self.headers.get('authorization') or ''
        if auth != 'Bearer ' + self.state.args.key:
            self.state.record(self.entry(body, 'bad_api_key' if auth else 'missing_api_key'))
            self.send_json(401, {'error': {'type': 'invalid_request_error',
                                           'code': 'invalid_api_key',
                                           'message': 'Incorrect API key provided.'}})
            return
        if parsed is None:
            self.send_json(400, {'error': {'code': 'invalid_json', 'message': 'bad JSON'}})
            return
        self.state.record(self.entry(body, 'ok'))
        self.openai_answer(parsed, {})

    def responses_answer(self, parsed, headers):
        usage = {'input_tokens': 11, 'output_tokens': 5, 'total_tokens': 16,
                 'input_tokens_details': {'cached_tokens': 3}}
        text = completion_text(parsed)
        model = parsed.get('model', 'stand-in')
        item = {'id': 'msg_standin', 'type': 'message', 'role': 'assistant', 'status': 'completed',
                'content': [{'type': 'output_text', 'text': text, 'annotations': []}]}
        done = {'id': 'resp_standin', 'object': 'response', 'status': 'completed',
                'model': model, 'output': [item], 'usage': usage}
        if not parsed.get('stream'):
            self.send_json(200, done, headers)
            return
        self.start_sse(headers)
        started = dict(done, status='in_progress', output=[], usage=None)
        self.sse({'type': 'response.created', 'sequence_number': 0, 'response': started},
                 'response.created')
        n = 1
        for word in text.split(' '):
            self.sse({'type': 'response.output_text.delta', 'sequence_number': n,
                      'item_id': 'msg_standin', 'output_index': 0, 'content_index': 0,
                      'delta': word + ' '}, 'response.output_text.delta')
            n += 1
        self.sse({'type': 'response.completed', 'sequence_number': n, 'response': done},
                 'response.completed')

    def openai_answer(self, parsed, headers):
        if self.path.split('?')[0].endswith('/responses'):
            self.responses_answer(parsed, headers)
            return
        usage = {'prompt_tokens': 7, 'completion_tokens': 3, 'total_tokens': 10,
                 'prompt_tokens_details': {'cached_tokens': 0}}
        text = completion_text(parsed)
        model = parsed.get('model', 'stand-in')
        if self.path.split('?')[0].endswith('/embeddings'):
            self.send_json(200, {'object': 'list', 'model': model, 'usage': usage,
                                 'data': [{'object': 'embedding', 'index': 0,
                                           'embedding': [0.1, 0.2]}]}, headers)
            return
        if not parsed.get('stream'):
            self.send_json(200, {'id': 'chatcmpl-standin', 'object': 'chat.completion',
                                 'model': model, 'usage': usage,
                                 'choices': [{'index': 0, 'finish_reason': 'stop',
                                              'message': {'role': 'assistant',
                                                          'content': text}}]}, headers)
            return
        self.start_sse(headers)
        for word in text.split(' '):
            self.sse({'id': 'chatcmpl-standin', 'object': 'chat.completion.chunk', 'model': model,
                      'choices': [{'index': 0, 'delta': {'content': word + ' '}}]})
        self.sse({'id': 'chatcmpl-standin', 'object': 'chat.completion.chunk', 'model': model,
                  'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})
        self.sse({'id': 'chatcmpl-standin', 'object': 'chat.completion.chunk', 'model': model,
                  'choices': [], 'usage': usage})
        self.sse('[DONE]')

    # -- Anthropic --------------------------------------------------------------------------
    def anthropic(self, body, parsed):
        if self.path != '/v1/messages':
            self.send_json(404, {'type': 'error', 'error': {'type': 'not_found_error',
                                                            'message': 'Not found'}})
            return
        key = self.headers.get('x-api-key')
        if key != self.state.args.key:
            self.state.record(self.entry(body, 'bad_api_key' if key else 'missing_api_key'))
            self.send_json(401, {'type': 'error', 'error': {'type': 'authentication_error',
                                                            'message': 'invalid x-api-key'}})
            return
        if not self.headers.get('anthropic-version'):
            self.state.record(self.entry(body, 'missing_anthropic_version'))
            self.send_json(400, {'type': 'error', 'error': {
                'type': 'invalid_request_error',
                'message': 'anthropic-version: header is required'}})
            return
        if parsed is None or 'max_tokens' not in parsed or 'messages' not in parsed:
            self.state.record(self.entry(body, 'invalid_request'))
            self.send_json(400, {'type': 'error', 'error': {
                'type': 'invalid_request_error', 'message': 'max_tokens and messages required'}})
            return
        requested = parsed.get('inference_geo')
        if requested is not None and requested not in ('us', 'global'):
            self.state.record(self.entry(body, 'bad_inference_geo'))
            self.send_json(400, {'type': 'error', 'error': {
                'type': 'invalid_request_error', 'message': 'invalid inference_geo'}})
            return
        self.state.record(self.entry(body, 'ok'))
        # Where it "ran": the configured geo wins (to provoke violations), else the request's.
        geo = self.state.geo or requested or 'global'
        text = completion_text(parsed)
        model = parsed.get('model', 'claude-standin')
        if not parsed.get('stream'):
            self.send_json(200, {'id': 'msg_standin', 'type': 'message', 'role': 'assistant',
                                 'model': model, 'stop_reason': 'end_turn',
                                 'content': [{'type': 'text', 'text': text}],
                                 'usage': {'input_tokens': 9, 'output_tokens': 4,
                                           'inference_geo': geo}})
            return
        self.start_sse()
        self.sse({'type': 'message_start', 'message': {
            'id': 'msg_standin', 'type': 'message', 'role': 'assistant', 'model': model,
            'content': [], 'stop_reason': None,
            'usage': {'input_tokens': 9, 'output_tokens': 1, 'inference_geo': geo}}},
            'message_start')
        self.sse({'type': 'content_block_start', 'index': 0,
                  'content_block': {'type': 'text', 'text': ''}}, 'content_block_start')
        self.sse({'type': 'ping'}, 'ping')
        for word in text.split(' '):
            self.sse({'type': 'content_block_delta', 'index': 0,
                      'delta': {'type': 'text_delta', 'text': word + ' '}}, 'content_block_delta')
        self.sse({'type': 'content_block_stop', 'index': 0}, 'content_block_stop')
        self.sse({'type': 'message_delta', 'delta': {'stop_reason': 'end_turn'},
                  'usage': {'output_tokens': 4, 'inference_geo': geo}}, 'message_delta')
        self.sse({'type': 'message_stop'}, 'message_stop')

    # -- Bedrock ----------------------------------------------------------------------------
    def bedrock(self, body, parsed):
        if urlsplit(self.path).path != '/openai/v1/chat/completions':
            self.send_json(404, {'message': 'Not found'})
            return
        verdict = self.bedrock_auth(body)
        if verdict != 'ok':
            self.state.record(self.entry(body, verdict))
            status = 403 if verdict == 'bad_signature' else 401
            self.send_json(status, {'message': 'The request signature we calculated does not '
                                               'match the signature you provided.'
                                    if status == 403 else 'Missing or invalid credentials'})
            return
        if parsed is None:
            self.send_json(400, {'message': 'bad JSON'})
            return
        self.state.record(self.entry(body, 'ok'))
        self.openai_answer(parsed, {'x-standin-region': self.state.geo})

    def bedrock_auth(self, body):
        auth = self.headers.get('authorization') or ''
        args = self.state.args
        if auth.startswith('Bearer '):
            return 'ok' if args.api_key and auth[7:] == args.api_key else 'bad_api_key'
        if not auth.startswith('AWS4-HMAC-SHA256 '):
            return 'missing_signature'
        host = self.headers.get('host', '')
        url = 'http://%s%s' % (host, self.path)
        expected = botocore_sigv4.expected_authorization(
            self.command, url, dict(self.headers.items()), body, args.access_key,
            args.secret_key, args.region, 'bedrock')
        return 'ok' if expected is not None and expected == auth else 'bad_signature'


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--api', choices=['azure', 'openai', 'anthropic', 'bedrock'], required=True)
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--geo', default='')
    p.add_argument('--key', default='', help='azure api-key / openai bearer / anthropic x-api-key expected')
    p.add_argument('--access-key', default='', help='bedrock: AWS access key id')
    p.add_argument('--secret-key', default='', help='bedrock: AWS secret access key')
    p.add_argument('--region', default='', help='bedrock: the region requests are signed for')
    p.add_argument('--api-key', default='', help='bedrock: API key accepted as a bearer token')
    args = p.parse_args()
    server = ThreadingHTTPServer(('127.0.0.1', args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)
    print('listening on %d' % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
