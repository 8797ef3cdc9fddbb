#!/usr/bin/env python3
"""A reviewer endpoint and a fake chat-completions server for
test_review_hook.sh (loopback only).

  review_server.py --port-file F --log L [--cert C --key K]

POST /review                airlock's reviewer protocol: the answer depends
                            on the held target: "allow" allows, "deny"
                            denies, "garbage" answers HTML, "chunked"
                            allows in a chunked response, else escalate.
POST /v1/chat/completions   an OpenAI-style chat completion whose one-word
                            content depends on the user message: "low-risk"
                            answers "low", "chatter" a sentence, "garbage"
                            a body that is no JSON, else "high".
Every request is appended to L as one JSON line (path, authorization,
body).  With --cert and --key it speaks https.
"""
import argparse
import http.server
import json
import os
import ssl
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_path = None
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def reply(self, body, chunked=False, ctype="application/json"):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 7):
                part = data[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps({"path": self.path,
                                "authorization":
                                    self.headers.get("Authorization", ""),
                                "body": body}) + "\n")
        if self.path == "/review":
            target = json.loads(body).get("target", "")
            if "garbage" in target:
                return self.reply("<html>no</html>", ctype="text/html")
            if "chunked" in target:
                return self.reply(json.dumps({"decision": "allow",
                                              "reason": "chunked ok"}),
                                  chunked=True)
            for word in ("allow", "deny"):
                if word in target:
                    return self.reply(json.dumps({
                        "decision": word,
                        "reason": "the endpoint said " + word}))
            return self.reply('{"decision":"escalate","reason":"unsure"}')
        if self.path == "/v1/chat/completions":
            user = json.loads(body)["messages"][-1]["content"]
            if "garbage" in user:
                return self.reply("this is not json", ctype="text/plain")
            if "low-risk" in user:
                word = "low"
            elif "chatter" in user:
                word = "Low risk, I would say."
            else:
                word = "high"
            return self.reply(json.dumps({
                "id": "x", "object": "chat.completion",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant",
                                         "content": word}}]}))
        self.send_error(404)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    Handler.log_path = args.log
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
