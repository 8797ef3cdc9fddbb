#!/usr/bin/env node
/*
 * An OTLP/HTTP logs receiver for airlock's tests.  It listens on
 * 127.0.0.1, takes `POST /v1/logs` with the JSON encoding, and decodes
 * each body with OpenTelemetry's own OTLP definitions: the protobuf
 * message types that @opentelemetry/otlp-transformer ships
 * (build/src/generated/root.js, generated from opentelemetry-proto).
 *
 * Decoding is strict, so that a mistake in airlock's encoder fails the
 * test instead of vanishing: the JSON is turned into an
 * ExportLogsServiceRequest (fromObject; trace and span ids are hex in the
 * OTLP JSON mapping and are converted first), checked (verify), encoded
 * to protobuf and decoded back, and the result must hold every field the
 * JSON held with the same value.  A field the definitions do not know, a
 * value of the wrong type or a malformed id is answered 400 and written to
 * the output as {"kind":"error",...}.
 *
 * Output (--out FILE), one JSON object a line:
 *   {"kind":"request","n":1,"status":200,"records":3}
 *   {"kind":"record","resource":{...},"scope":{...},"timeUnixNano":"..",
 *    "severityText":"INFO","body":"..","traceId":"<hex>","spanId":"<hex>",
 *    "attributes":{"file.path":"src/a.c","process.pid":42,...}}
 * (an intValue becomes a number, a stringValue a string).
 *
 * Usage: node receiver.js --out FILE [--port N] [--port-file FILE]
 *          [--fail-first N] [--fail-status CODE] [--expect-header "N: v"]
 *          [--tls-cert PEM --tls-key PEM]
 * --port 0 (the default) picks a free port and writes it to --port-file.
 * --fail-first N answers the first N requests with --fail-status (503).
 * --expect-header answers 401 to a request without that header.
 * --tls-cert/--tls-key serve https with that certificate.
 */
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');

/* The OTLP definitions, from the package (its main entry exports only
 * serializers; the message types live in its generated protobuf root). */
const transformerDir = path.dirname(
  require.resolve('@opentelemetry/otlp-transformer/package.json'));
const root = require(path.join(transformerDir, 'build/src/generated/root.js'));
const { hexToBinary } = require(
  path.join(transformerDir, 'build/src/common/hex-to-binary.js'));
const ExportLogsServiceRequest =
  root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;

function parseArgs(argv) {
  const o = { port: 0, failFirst: 0, failStatus: 503, expectHeader: null };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    switch (a) {
      case '--out': o.out = v; i++; break;
      case '--port': o.port = Number(v); i++; break;
      case '--port-file': o.portFile = v; i++; break;
      case '--fail-first': o.failFirst = Number(v); i++; break;
      case '--fail-status': o.failStatus = Number(v); i++; break;
      case '--expect-header': o.expectHeader = v; i++; break;
      case '--tls-cert': o.tlsCert = v; i++; break;
      case '--tls-key': o.tlsKey = v; i++; break;
      default:
        process.stderr.write(`receiver: unknown argument ${a}\n`);
        process.exit(2);
    }
  }
  if (!o.out) {
    process.stderr.write('receiver: --out FILE is required\n');
    process.exit(2);
  }
  return o;
}

const opts = parseArgs(process.argv);
let nRequests = 0;

function emit(obj) {
  fs.appendFileSync(opts.out, JSON.stringify(obj) + '\n');
}

const HEX_ID = { traceId: 32, spanId: 16 };

/* The OTLP JSON mapping writes trace and span ids as hex; protobufjs's
 * fromObject reads bytes as base64.  Convert, refusing malformed ids. */
function idsToBinary(req) {
  for (const rl of req.resourceLogs || [])
    for (const sl of rl.scopeLogs || [])
      for (const lr of sl.logRecords || [])
        for (const [k, len] of Object.entries(HEX_ID)) {
          if (lr[k] === undefined) continue;
          if (typeof lr[k] !== 'string' || !new RegExp(`^[0-9a-f]{${len}}$`).test(lr[k]))
            throw new Error(`${k} is not ${len} lower-case hex digits: ${JSON.stringify(lr[k])}`);
          lr[k] = hexToBinary(lr[k]);
        }
}

function toHex(bytes) {
  return Buffer.from(bytes).toString('hex');
}

/* Every field of the JSON must come back from the round trip with the
 * same value; what the definitions do not know does not come back. */
function sameAs(json, decoded, where) {
  if (Array.isArray(json)) {
    if (!Array.isArray(decoded) || decoded.length !== json.length)
      throw new Error(`${where}: array lost in decoding`);
    json.forEach((v, i) => sameAs(v, decoded[i], `${where}[${i}]`));
    return;
  }
  if (json !== null && typeof json === 'object') {
    if (decoded === null || typeof decoded !== 'object')
      throw new Error(`${where}: object lost in decoding`);
    for (const k of Object.keys(json)) {
      if (!(k in decoded))
        throw new Error(`${where}.${k}: not a field of the OTLP definitions (or a default value sent)`);
      sameAs(json[k], decoded[k], `${where}.${k}`);
    }
    return;
  }
  if (String(json) !== String(decoded))
    throw new Error(`${where}: sent ${JSON.stringify(json)}, decoded ${JSON.stringify(decoded)}`);
}

function anyValue(v) {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v;
}

function attrs(list) {
  const o = {};
  for (const kv of list || []) o[kv.key] = anyValue(kv.value || {});
  return o;
}

function decode(text) {
  const json = JSON.parse(text);
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new Error('the body is not a JSON object');
  const original = JSON.parse(text);
  idsToBinary(json);
  const msg = ExportLogsServiceRequest.fromObject(json);
  const err = ExportLogsServiceRequest.verify(msg);
  if (err) throw new Error(`verify: ${err}`);
  const wire = ExportLogsServiceRequest.encode(msg).finish();
  const back = ExportLogsServiceRequest.toObject(
    ExportLogsServiceRequest.decode(wire),
    { longs: String, enums: Number, bytes: Array, defaults: false });
  for (const rl of back.resourceLogs || [])
    for (const sl of rl.scopeLogs || [])
      for (const lr of sl.logRecords || [])
        for (const k of Object.keys(HEX_ID))
          if (lr[k] !== undefined) lr[k] = toHex(lr[k]);
  sameAs(original, back, 'request');
  return back;
}

function answer(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function handle(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const n = ++nRequests;
    if (req.method !== 'POST' || req.url !== '/v1/logs') {
      emit({ kind: 'request', n, status: 404, method: req.method, url: req.url });
      return answer(res, 404, {});
    }
    if (!/^application\/json\b/.test(req.headers['content-type'] || '')) {
      emit({ kind: 'error', n, error: 'Content-Type is not application/json' });
      return answer(res, 415, {});
    }
    if (opts.expectHeader) {
      const i = opts.expectHeader.indexOf(':');
      const name = opts.expectHeader.slice(0, i).trim().toLowerCase();
      const value = opts.expectHeader.slice(i + 1).trim();
      if (req.headers[name] !== value) {
        emit({ kind: 'request', n, status: 401, error: `no ${name} header with the expected value` });
        return answer(res, 401, {});
      }
    }
    if (n <= opts.failFirst) {
      emit({ kind: 'request', n, status: opts.failStatus });
      return answer(res, opts.failStatus, {});
    }
    let decoded;
    try {
      decoded = decode(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      emit({ kind: 'error', n, error: String(e.message || e) });
      return answer(res, 400, { error: String(e.message || e) });
    }
    let count = 0;
    for (const rl of decoded.resourceLogs || []) {
      const resource = attrs((rl.resource || {}).attributes);
      for (const sl of rl.scopeLogs || []) {
        for (const lr of sl.logRecords || []) {
          count++;
          emit({
            kind: 'record',
            resource,
            scope: sl.scope || {},
            timeUnixNano: lr.timeUnixNano,
            observedTimeUnixNano: lr.observedTimeUnixNano,
            severityNumber: lr.severityNumber,
            severityText: lr.severityText,
            body: lr.body ? anyValue(lr.body) : undefined,
            traceId: lr.traceId,
            spanId: lr.spanId,
            attributes: attrs(lr.attributes),
          });
        }
      }
    }
    emit({ kind: 'request', n, status: 200, records: count });
    /* ExportLogsServiceResponse: all accepted. */
    answer(res, 200, {});
  });
}

const server = opts.tlsCert
  ? https.createServer({ cert: fs.readFileSync(opts.tlsCert),
                         key: fs.readFileSync(opts.tlsKey) }, handle)
  : http.createServer(handle);

server.listen(opts.port, '127.0.0.1', () => {
  const port = server.address().port;
  if (opts.portFile) {
    fs.writeFileSync(opts.portFile + '.tmp', `${port}\n`);
    fs.renameSync(opts.portFile + '.tmp', opts.portFile);
  }
  process.stderr.write(`receiver: listening on 127.0.0.1:${port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => server.close(() => process.exit(0)));
