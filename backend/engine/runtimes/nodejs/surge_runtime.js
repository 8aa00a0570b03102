'use strict';
// Surge's Node.js runtime shim: serves one function instance over the runtime protocol.
//
// Started as `/usr/bin/node /runtime/nodejs/surge_runtime.js` inside the sandbox, with fd 3 a Unix
// stream socket to the host. Every message is a frame: one ASCII header line
// `<TYPE> <ID> <LENGTH>[ <ARG>...]` followed by exactly LENGTH bytes of body. The exchange
// (docs/runtime-protocol.md is the contract; surge_runtime.py is the Python sibling):
//
//     host -> runtime   INIT - <len>                      key=value lines: handler, env.NAME, ...
//     runtime -> host   READY - 0                          or INITERROR - <len>, then exit 1
//     host -> runtime   INVOKE <id> <len> <remaining-ms>   the event bytes
//     runtime -> host   LOG <id> <len> <stream>            output while serving <id> ("-": none),
//                                                          <stream> "stdout" or "stderr"
//     runtime -> host   RESULT <id> <len> | ERROR <id> <len>
//     host -> runtime   CANCEL <id> 0                      ignored: the host stops waiting itself
//     host -> runtime   STOP - 0                           finish in-flight requests, exit 0
//
// Handlers follow Alibaba Function Compute's Node.js conventions, so existing event functions run
// unchanged: `exports.handler = async (event, context) => result` or the callback style
// `(event, context, callback)`, an optional `exports.initializer` run once before READY, and
// logging through `console`, `process.stdout/stderr` or `context.logger`. Timeouts are the host's
// job (it kills the instance); this file never enforces one. Built-in modules only.
//
// Exit statuses: 0 after STOP or at end of stream, 1 after INITERROR, 2 when the host breaks the
// protocol, 3 when function code throws outside any handler call (an uncaught exception or an
// unhandled rejection): the instance is then in an unknown state, as Node itself assumes. At end
// of stream with a handler's request still in Node's thread pool it kills itself (SIGKILL),
// because Node's exit would wait for that request (see exitAtEndOfStream).

const net = require('node:net');
const path = require('node:path');
const { AsyncLocalStorage } = require('node:async_hooks');

const PROTOCOL_FD = 3;
const MAX_HEADER_LINE = 1024;
const MAX_FRAME_BODY = 8 << 20;
// Results are capped like payloads; the frame limit leaves room above this for an ERROR body.
const MAX_RESULT = 6 << 20;
const MAX_ERROR_BODY = 1 << 20;
// Log text is sent in frames of at most this many bytes, and a line without a newline is sent
// once this much of it has accumulated, so neither side buffers a request's output without bound.
const LOG_CHUNK = 64 << 10;
const EXIT_INIT_ERROR = 1;
const EXIT_PROTOCOL_ERROR = 2;
const EXIT_UNCAUGHT = 3;
const EMPTY = Buffer.alloc(0);

// The request whose handler is running in this async context; undefined outside any request.
// Unlike threads, timers and promises a handler starts inherit it, so `activeRequests` decides
// whether output still belongs to the request or (after its reply) to nobody ("-").
const requestStore = new AsyncLocalStorage();
const activeRequests = new Set();

class ProtocolError extends Error {}

// Exits without running function code ('exit' listeners): process.reallyExit is what
// process.exit() calls after emitting 'exit'.
function hardExit(status) {
  if (typeof process.reallyExit === 'function') process.reallyExit(status);
  process.exit(status);
}

// Reports on the real stderr (captured by the host) and exits without running user code.
function fatal(message, status) {
  try {
    require('node:fs').writeSync(2, `surge runtime: ${message}\n`);
  } finally {
    hardExit(status);
  }
}

// The host closed fd 3: nobody will read results, so in-flight work is moot. Node's exit joins
// its thread pool, so with a file system, DNS or crypto request of a handler still pending there
// (a read from a FIFO: forever) it would not exit at all; it is killed instead.
function exitAtEndOfStream() {
  if (process.getActiveResourcesInfo().some((name) => /Req|Job|Work/.test(name))) {
    process.kill(process.pid, 'SIGKILL');
  }
  hardExit(0);
}

// Incremental frame decoder over the chunks read from fd 3. Bodies that span many reads are
// copied once, when complete; a body inside one read is a zero-copy view of it.
class FrameDecoder {
  constructor() {
    this.chunks = [];
    this.buffered = 0;
    this.header = null; // {type, id, length, args} once a header line is parsed
  }

  push(chunk) {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  // The next complete frame as {type, id, args, body}, or null if more bytes are needed.
  // Throws ProtocolError for a malformed header; the stream is then unusable.
  next() {
    if (this.header === null) {
      const newline = this.findNewline();
      if (newline < 0) {
        if (this.buffered > MAX_HEADER_LINE) {
          throw new ProtocolError(`frame header is longer than ${MAX_HEADER_LINE} bytes without a newline`);
        }
        return null;
      }
      const line = this.take(newline + 1);
      this.header = parseHeader(line.subarray(0, newline));
    }
    if (this.buffered < this.header.length) return null;
    const frame = this.header;
    this.header = null;
    frame.body = this.take(frame.length);
    return frame;
  }

  // The offset of the first newline within a header's reach, or -1.
  findNewline() {
    let offset = 0;
    for (const chunk of this.chunks) {
      const reach = Math.min(chunk.length, MAX_HEADER_LINE + 1 - offset);
      const at = chunk.subarray(0, reach).indexOf(10);
      if (at >= 0) return offset + at;
      offset += reach;
      if (offset > MAX_HEADER_LINE) break;
    }
    return -1;
  }

  // Removes and returns the first n buffered bytes (n <= this.buffered).
  take(n) {
    if (n === 0) return EMPTY;
    this.buffered -= n;
    const first = this.chunks[0];
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      const count = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, count);
      if (count === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(count);
      filled += count;
    }
    return out;
  }
}

function parseHeader(line) {
  for (const byte of line) {
    if (byte > 0x7f) throw new ProtocolError(`frame header '${line.toString('latin1')}' is not ASCII`);
  }
  const text = line.toString('latin1');
  const fields = text.split(' ');
  if (fields.length < 3 || fields.some((field) => field === '')) {
    throw new ProtocolError(`frame header '${text}' is not '<TYPE> <ID> <LENGTH>[ <ARG>...]'`);
  }
  const [type, id, length] = fields;
  if (!/^[A-Z]+$/.test(type)) throw new ProtocolError(`frame type '${type}' is not uppercase letters`);
  if (!/^(0|[1-9][0-9]*)$/.test(length)) {
    throw new ProtocolError(`frame length '${length}' is not a decimal number`);
  }
  if (length.length > 8 || Number(length) > MAX_FRAME_BODY) {
    throw new ProtocolError(`frame length ${length} exceeds the limit of ${MAX_FRAME_BODY} bytes`);
  }
  return { type, id, length: Number(length), args: fields.slice(3) };
}

// Frames to the host. Node runs JavaScript on one thread, so frames never interleave; writes
// the socket cannot take at once are queued by the stream (in memory), never blocking reads.
class Connection {
  constructor(socket) {
    this.socket = socket;
  }

  send(type, id, body = EMPTY, arg = '') {
    const header = arg === '' ? `${type} ${id} ${body.length}\n` : `${type} ${id} ${body.length} ${arg}\n`;
    if (body.length <= LOG_CHUNK) {
      this.socket.write(body.length === 0 ? header : Buffer.concat([Buffer.from(header, 'latin1'), body]));
    } else {
      // Two writes instead of copying a multi-megabyte body once more.
      this.socket.write(header, 'latin1');
      this.socket.write(body);
    }
  }

  // Exits with `status` once everything sent so far has reached the socket.
  finishAndExit(status) {
    this.socket.end(() => hardExit(status));
  }
}

// Splits UTF-8 bytes into pieces of at most `limit` bytes without cutting a character.
function* utf8Chunks(data, limit) {
  let start = 0;
  while (data.length - start > limit) {
    let end = start + limit;
    // Back off continuation bytes (10xxxxxx) to land on the start of a character.
    while (end > start + 1 && (data[end] & 0xc0) === 0x80) end -= 1;
    yield data.subarray(start, end);
    start = end;
  }
  if (start < data.length) yield data.subarray(start);
}

// The output of one stream (stdout or stderr): text is buffered per request and line, and sent
// as LOG frames tagged with the request that wrote it and the stream's name.
class LogStream {
  constructor(connection, name) {
    this.connection = connection;
    this.name = name;
    this.pending = new Map(); // request id -> text not yet sent (no newline in it yet)
  }

  write(id, text) {
    if (text.length === 0) return;
    const before = this.pending.get(id);
    const joined = before === undefined ? text : before + text;
    const newline = joined.lastIndexOf('\n');
    if (newline < 0 && joined.length < LOG_CHUNK) {
      this.pending.set(id, joined);
      return;
    }
    const cut = newline < 0 ? joined.length : newline + 1;
    if (cut < joined.length) this.pending.set(id, joined.slice(cut));
    else this.pending.delete(id);
    this.send(id, joined.slice(0, cut));
  }

  // Sends what `id` wrote without a final newline.
  finish(id) {
    const text = this.pending.get(id);
    if (text === undefined) return;
    this.pending.delete(id);
    this.send(id, text);
  }

  send(id, text) {
    for (const chunk of utf8Chunks(Buffer.from(text, 'utf8'), LOG_CHUNK)) {
      this.connection.send('LOG', id, chunk, this.name);
    }
  }
}

// The request that output written now belongs to: the current async context's, while that
// request has not been answered yet.
function currentLogId() {
  const id = requestStore.getStore();
  return id !== undefined && activeRequests.has(id) ? id : '-';
}

function formatArgs(args) {
  return require('node:util').formatWithOptions({ colors: false }, ...args);
}

// Routes console.*, process.stdout.write and process.stderr.write to LOG frames. Writes to fd 1
// and 2 that bypass these (child processes, native addons) reach the host through the pipes.
function captureOutput(stdout, stderr) {
  const patchWrite = (stream, log) => {
    stream.write = function write(chunk, encoding, callback) {
      if (typeof encoding === 'function') {
        callback = encoding;
        encoding = undefined;
      }
      let text;
      if (typeof chunk === 'string') text = chunk;
      else if (chunk instanceof Uint8Array) text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString();
      else throw new TypeError(`The "chunk" argument must be of type string or an instance of Buffer or Uint8Array`);
      if (typeof chunk === 'string' && encoding && encoding !== 'utf8' && encoding !== 'utf-8') {
        text = Buffer.from(chunk, encoding).toString();
      }
      log.write(currentLogId(), text);
      if (typeof callback === 'function') process.nextTick(callback);
      return true;
    };
  };
  patchWrite(process.stdout, stdout);
  patchWrite(process.stderr, stderr);
  const toStream = (log) =>
    function logArgs(...args) {
      log.write(currentLogId(), `${formatArgs(args)}\n`);
    };
  console.log = toStream(stdout);
  console.info = toStream(stdout);
  console.debug = toStream(stdout);
  console.warn = toStream(stderr);
  console.error = toStream(stderr);
}

// `context.logger`: Function Compute's log line, `2024-05-01T10:00:00.123Z <request-id> [INFO] message`.
function makeLogger(stdout, requestId) {
  const line = (level) =>
    function log(...args) {
      const id = activeRequests.has(requestId) ? requestId : '-';
      stdout.write(id, `${new Date().toISOString()} ${requestId || '-'} [${level}] ${formatArgs(args)}\n`);
    };
  return {
    log: line('INFO'),
    info: line('INFO'),
    debug: line('DEBUG'),
    warn: line('WARN'),
    error: line('ERROR'),
  };
}

function parseInit(body) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (error) {
    throw new ProtocolError(`INIT body is not UTF-8: ${error.message}`);
  }
  const config = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const equals = line.indexOf('=');
    if (equals < 0) throw new ProtocolError(`INIT line '${line}' is not key=value`);
    config.set(line.slice(0, equals), line.slice(equals + 1));
  }
  return config;
}

function intValue(config, key, fallback) {
  const value = Number.parseInt(config.get(key) ?? '', 10);
  return Number.isNaN(value) ? fallback : value;
}

// `file.function` (the file may have directories: `lib/index.handler`) -> the exported function.
async function resolveFunction(codeDir, spec, what) {
  const dot = spec.lastIndexOf('.');
  if (dot <= 0 || dot === spec.length - 1) {
    throw new Error(`${what} '${spec}' is not allowed: use file.function, e.g. index.handler`);
  }
  const moduleName = spec.slice(0, dot);
  const name = spec.slice(dot + 1);
  const modulePath = path.resolve(codeDir, moduleName);
  let exported;
  try {
    exported = require(modulePath);
  } catch (error) {
    if (error && error.code === 'ERR_REQUIRE_ESM') {
      exported = await import(require('node:url').pathToFileURL(require.resolve(modulePath)).href);
    } else if (error && error.code === 'MODULE_NOT_FOUND' && isOwnRequire(error)) {
      const mjs = `${modulePath}.mjs`;
      if (!require('node:fs').existsSync(mjs)) {
        // Node's message lists this file as the require stack: noise to the function's author.
        const missing = new Error(`Cannot find module '${modulePath}' for ${what} '${spec}'`);
        missing.code = 'MODULE_NOT_FOUND';
        missing.stack = '';
        throw missing;
      }
      exported = await import(require('node:url').pathToFileURL(mjs).href);
    } else {
      throw error;
    }
  }
  const fn = exported == null ? undefined : exported[name];
  if (fn === undefined) throw new Error(`${what} function '${name}' not found in module '${moduleName}'`);
  if (typeof fn !== 'function') throw new TypeError(`${what} '${spec}' is a ${typeof fn}, not a function`);
  return fn;
}

// Whether a MODULE_NOT_FOUND error is about the module this file required, not one it requires.
function isOwnRequire(error) {
  return Array.isArray(error.requireStack) && error.requireStack.every((file) => file === __filename);
}

// Calls `fn(...args)` in Function Compute's two styles: with a trailing `callback(err, result)`
// when it declares one more parameter than `args`, else awaiting what it returns.
function callUserFunction(fn, args) {
  if (fn.length > args.length) {
    return new Promise((resolve, reject) => {
      const returned = fn(...args, (error, result) => (error != null ? reject(error) : resolve(result)));
      // An async function with a callback parameter: its rejection is a failure too.
      if (returned != null && typeof returned.then === 'function') returned.then(undefined, reject);
    });
  }
  return new Promise((resolve) => resolve(fn(...args)));
}

// Stack lines of this file and of Node's internals are noise in a user's trace.
function userStack(stack) {
  return stack
    .split('\n')
    .filter((line) => !(/^\s+at /.test(line) && (line.includes(__filename) || line.includes('node:internal'))))
    .join('\n');
}

// Line 1 the error type, line 2 the message on one line, then the stack of user code.
function errorBody(error) {
  let type = 'Error';
  let message;
  let stack = '';
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    if (typeof error.name === 'string' && error.name !== '') type = error.name;
    message = String(error.message);
    if (typeof error.stack === 'string') stack = userStack(error.stack);
  } else {
    message = typeof error === 'string' ? error : require('node:util').inspect(error);
  }
  message = message.replace(/\r\n|\r|\n/g, ' ');
  let body = Buffer.from(`${type}\n${message}\n${stack}`, 'utf8');
  if (body.length > MAX_ERROR_BODY) {
    body = Buffer.concat([body.subarray(0, MAX_ERROR_BODY - 16), Buffer.from('\n... (truncated)')]);
  }
  return body;
}

function encodeResult(value) {
  if (value === undefined) return EMPTY;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  const json = JSON.stringify(value);
  if (json === undefined) {
    throw new TypeError(
      `handler returned a value of type '${typeof value}', which is not supported: return a Buffer, ` +
        'a string, or a JSON-serialisable value (object, array, number, boolean, null)',
    );
  }
  return Buffer.from(json, 'utf8');
}

class Runtime {
  constructor(connection, stdout, stderr) {
    this.connection = connection;
    this.streams = [stdout, stderr];
    this.stdout = stdout;
    this.decoder = new FrameDecoder();
    this.state = 'init'; // 'init' (waiting for INIT), 'loading', 'serving', 'stopping'
    this.handler = null;
    this.functionInfo = null;
    this.concurrency = 1;
    this.inFlight = 0;
    this.waiting = []; // INVOKEs beyond `concurrency`, oldest first
  }

  receive(chunk) {
    this.decoder.push(chunk);
    this.pump();
  }

  // Handles the frames decoded so far, except while the function loads or after STOP.
  pump() {
    try {
      while (this.state === 'init' || this.state === 'serving') {
        const frame = this.decoder.next();
        if (frame === null) return;
        this.handle(frame);
      }
    } catch (error) {
      if (error instanceof ProtocolError) fatal(`protocol error: ${error.message}`, EXIT_PROTOCOL_ERROR);
      throw error;
    }
  }

  handle(frame) {
    if (this.state === 'init') {
      if (frame.type !== 'INIT') throw new ProtocolError(`expected INIT as the first frame, got ${frame.type}`);
      this.state = 'loading';
      this.initialize(parseInit(frame.body)).then(() => {
        this.state = 'serving';
        this.connection.send('READY', '-');
        this.pump();
      });
    } else if (frame.type === 'INVOKE') {
      const remainingMs = /^[0-9]+$/.test(frame.args[0] ?? '') ? Number(frame.args[0]) : 0;
      const deadline = performance.now() + remainingMs;
      if (this.inFlight < this.concurrency) this.invoke(frame.id, frame.body, deadline);
      else this.waiting.push([frame.id, frame.body, deadline]);
    } else if (frame.type === 'STOP') {
      this.state = 'stopping';
      this.exitIfIdle();
    }
    // CANCEL and frame types of later protocol versions are ignored: the host stops waiting for a
    // cancelled request by itself, and the handler runs to completion.
  }

  async initialize(config) {
    try {
      for (const [key, value] of config) {
        if (key.startsWith('env.')) process.env[key.slice(4)] = value;
      }
      const codeDir = config.get('code_dir') || '/code';
      // Function Compute runs handlers in the code directory; relative paths depend on it.
      try {
        process.chdir(codeDir);
      } catch {
        // A missing code dir surfaces below as the handler's module not being found.
      }
      const fullName = config.get('function') ?? '';
      const slash = fullName.lastIndexOf('/');
      const timeoutMs = intValue(config, 'timeout_ms', 0);
      this.functionInfo = {
        name: fullName.slice(slash + 1),
        namespace: slash < 0 ? '' : fullName.slice(0, slash),
        handler: config.get('handler') ?? '',
        initializer: config.get('initializer') ?? '',
        version: config.get('version') ?? '',
        memory: intValue(config, 'memory_mb', 0),
        timeout: timeoutMs / 1000,
        initializationTimeout: intValue(config, 'initializer_timeout_ms', 0) / 1000,
      };
      this.concurrency = Math.max(1, intValue(config, 'concurrency', 1));
      if (!config.get('handler')) throw new Error('INIT has no handler');
      this.handler = await resolveFunction(codeDir, config.get('handler'), 'handler');
      if (config.get('initializer')) {
        const initializer = await resolveFunction(codeDir, config.get('initializer'), 'initializer');
        const deadline = performance.now() + intValue(config, 'initializer_timeout_ms', 0);
        await callUserFunction(initializer, [this.makeContext('', deadline)]);
      }
    } catch (error) {
      this.flushStreams('-');
      this.connection.send('INITERROR', '-', errorBody(error));
      this.connection.finishAndExit(EXIT_INIT_ERROR);
      return new Promise(() => {}); // never READY
    }
    this.flushStreams('-');
  }

  makeContext(requestId, deadline) {
    const fn = this.functionInfo;
    return {
      requestId,
      credentials: {},
      function: {
        name: fn.name,
        handler: fn.handler,
        memory: fn.memory,
        timeout: fn.timeout,
        initializer: fn.initializer,
        initializationTimeout: fn.initializationTimeout,
        version: fn.version,
        namespace: fn.namespace,
      },
      service: { name: fn.namespace, versionId: fn.version },
      logger: makeLogger(this.stdout, requestId),
      getRemainingTimeInMillis: () => Math.max(0, Math.floor(deadline - performance.now())),
    };
  }

  invoke(id, event, deadline) {
    this.inFlight += 1;
    activeRequests.add(id);
    const context = this.makeContext(id, deadline);
    requestStore
      .run(id, () => callUserFunction(this.handler, [event, context]))
      .then(
        (value) => {
          const result = encodeResult(value);
          if (result.length > MAX_RESULT) {
            throw new RangeError(`handler returned ${result.length} bytes; the limit is ${MAX_RESULT} bytes (6 MiB)`);
          }
          return ['RESULT', result];
        },
        (error) => ['ERROR', errorBody(error)],
      )
      .catch((error) => ['ERROR', errorBody(error)])
      .then(([type, body]) => {
        // Logs of a request reach the host before its reply; later output of timers it started
        // belongs to no request.
        this.flushStreams(id);
        activeRequests.delete(id);
        this.connection.send(type, id, body);
        this.inFlight -= 1;
        const next = this.waiting.shift();
        if (next !== undefined) this.invoke(...next);
        else if (this.state === 'stopping') this.exitIfIdle();
      });
  }

  exitIfIdle() {
    if (this.inFlight > 0 || this.waiting.length > 0) return;
    this.flushStreams('-');
    process.emit('exit', 0); // 'exit' listeners of function code, as process.exit() would run them
    this.flushStreams('-');
    this.connection.finishAndExit(0);
  }

  flushStreams(id) {
    for (const stream of this.streams) stream.finish(id);
  }
}

function main() {
  let socket;
  try {
    socket = new net.Socket({ fd: PROTOCOL_FD, readable: true, writable: true, allowHalfOpen: true });
  } catch (error) {
    fatal(`cannot use fd ${PROTOCOL_FD}: ${error.message}`, EXIT_PROTOCOL_ERROR);
  }
  const connection = new Connection(socket);
  const stdout = new LogStream(connection, 'stdout');
  const stderr = new LogStream(connection, 'stderr');
  captureOutput(stdout, stderr);
  const runtime = new Runtime(connection, stdout, stderr);
  process.on('uncaughtException', (error) => {
    fatal(`uncaught exception, the instance cannot continue:\n${error && error.stack ? error.stack : String(error)}`,
      EXIT_UNCAUGHT);
  });
  socket.on('end', exitAtEndOfStream);
  socket.on('error', (error) => {
    if (error.code === 'EPIPE' || error.code === 'ECONNRESET') exitAtEndOfStream();
    fatal(`fd ${PROTOCOL_FD} failed: ${error.message}`, EXIT_PROTOCOL_ERROR);
  });
  socket.on('data', (chunk) => runtime.receive(chunk));
  // Loaded and waiting: the host may keep this process pre-started until a function needs it.
  connection.send('LOADED', '-');
}

main();
