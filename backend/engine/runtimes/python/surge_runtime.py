"""Surge's Python runtime shim: serves one function instance over the runtime protocol.

Started as `/usr/bin/python3 -S surge_runtime.py` inside the sandbox, with fd 3 a Unix stream
socket to the host. Every message is a frame: one ASCII header line `<TYPE> <ID> <LENGTH>[ <ARG>...]`
followed by exactly LENGTH bytes of body. The exchange (docs/runtime-protocol.md is the contract):

    host -> runtime   INIT - <len>                      key=value lines: handler, env.NAME, ...
    runtime -> host   READY - 0                          or INITERROR - <len>, then exit 1
    host -> runtime   INVOKE <id> <len> <remaining-ms>   the event bytes
    runtime -> host   LOG <id> <len> <stream>            output while serving <id> ("-": none),
                                                         <stream> "stdout" or "stderr"
    runtime -> host   RESULT <id> <len> | ERROR <id> <len>
    host -> runtime   CANCEL <id> 0                      ignored: the host stops waiting itself
    host -> runtime   STOP - 0                           finish in-flight requests, exit 0

Handlers follow Alibaba Function Compute's Python conventions, so existing event functions run
unchanged: `handler(event: bytes, context)`, an optional `initializer(context)` run once, and
logging through `print` or the root `logging` logger. Timeouts are the host's job (it kills the
instance); this file never enforces one. Standard library only: it runs without the site module.

Start-up time matters (every direct start pays it), so this file imports only what Python has
loaded anyway or builds in C. logging, json, traceback, threading and concurrent.futures cost
about 12 ms together and are imported when first needed (_stdlib): logging is configured the
moment the function's code imports it (_LoggingSetup). Since /code is first on sys.path by then,
these imports look in the standard library only, so that a function's own json.py or
logging.py can neither stand in for the runtime's modules nor be configured as if it were one.
"""

import _thread
import atexit
import contextvars
import io
import os
import sys
import time

PROTOCOL_FD = 3
MAX_HEADER_LINE = 1024
MAX_FRAME_BODY = 8 << 20
# Results are capped like payloads; the frame limit leaves room above this for an ERROR body.
MAX_RESULT = 6 << 20
MAX_ERROR_BODY = 1 << 20
# Log text is sent in frames of at most this many bytes, and a line without a newline is sent
# once this much of it has accumulated, so neither the host nor this process buffers without bound.
LOG_CHUNK = 64 << 10
# Exit status when the host breaks the protocol; 0 and 1 have their documented meanings.
EXIT_PROTOCOL_ERROR = 2

# The request whose handler is running in this context; "-" outside any request. Each INVOKE runs
# in its own copy of the context, so output is attributed to the right request even when several
# run at once on different threads.
_request_id = contextvars.ContextVar("surge_request_id", default="-")


class ProtocolError(Exception):
    """The host sent something this runtime cannot parse; the stream cannot be trusted after it."""


def _fatal(message, status):
    """Reports on the real stderr (captured by the host) and exits without running user code."""
    try:
        os.write(2, ("surge runtime: %s\n" % message).encode("utf-8", "backslashreplace"))
    finally:
        os._exit(status)


class Connection:
    """Frames over fd 3. Reads happen on the main thread only; sends may come from any thread
    and are serialised so that two frames never interleave on the wire."""

    def __init__(self, fd):
        self._fd = fd
        self._buffer = bytearray()
        self._send_lock = _thread.allocate_lock()

    def receive(self):
        """The next frame as (type, id, args, body), or None at end of stream."""
        while True:
            newline = self._buffer.find(b"\n", 0, MAX_HEADER_LINE + 1)
            if newline >= 0:
                break
            if len(self._buffer) > MAX_HEADER_LINE:
                raise ProtocolError("frame header is longer than %d bytes without a newline" % MAX_HEADER_LINE)
            if not self._fill():
                return None
        type_, id_, length, args = _parse_header(bytes(self._buffer[:newline]))
        end = newline + 1 + length
        while len(self._buffer) < end:
            if not self._fill(end - len(self._buffer)):
                return None
        body = bytes(self._buffer[newline + 1:end])
        # Deleting from the front of a bytearray is cheap in CPython: it moves a start pointer.
        del self._buffer[:end]
        return type_, id_, args, body

    def _fill(self, wanted=0):
        chunk = os.read(self._fd, max(wanted, 1 << 16))
        if not chunk:
            return False
        self._buffer += chunk
        return True

    def send(self, type_, id_, body=b"", *args):
        header = " ".join((type_, id_, str(len(body))) + args).encode("ascii") + b"\n"
        with self._send_lock:
            if len(body) <= LOG_CHUNK:
                self._write_all(header + body)
            else:
                # Two writes instead of copying a multi-megabyte body once more.
                self._write_all(header)
                self._write_all(body)

    def _write_all(self, data):
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except (BrokenPipeError, ConnectionResetError):
            # The host is gone, exactly as if fd 3 had reached end of stream.
            os._exit(0)
        except OSError as e:
            _fatal("cannot write to fd %d: %s" % (self._fd, e), EXIT_PROTOCOL_ERROR)


def _parse_header(line):
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("frame header %r is not ASCII" % line) from None
    fields = text.split(" ")
    if len(fields) < 3 or not all(fields):
        raise ProtocolError("frame header %r is not '<TYPE> <ID> <LENGTH>[ <ARG>...]'" % text)
    type_, id_, length = fields[0], fields[1], fields[2]
    if not (type_.isascii() and type_.isalpha() and type_.isupper()):
        raise ProtocolError("frame type %r is not uppercase letters" % type_)
    if not (length.isascii() and length.isdigit()) or (len(length) > 1 and length[0] == "0"):
        raise ProtocolError("frame length %r is not a decimal number" % length)
    if int(length) > MAX_FRAME_BODY:
        raise ProtocolError("frame length %s exceeds the limit of %d bytes" % (length, MAX_FRAME_BODY))
    return type_, id_, int(length), tuple(fields[3:])


def _utf8_chunks(data, limit):
    """Splits UTF-8 bytes into pieces of at most `limit` bytes without cutting a character."""
    start = 0
    while len(data) - start > limit:
        end = start + limit
        # Back off continuation bytes (10xxxxxx) to land on the start of a character.
        while end > start + 1 and (data[end] & 0xC0) == 0x80:
            end -= 1
        yield data[start:end]
        start = end
    if start < len(data):
        yield data[start:]


class LogStream(io.TextIOBase):
    """Replaces sys.stdout or sys.stderr: text is buffered per request and line, and sent as
    LOG frames tagged with the request that wrote it. Writes to fd 1 and 2 that bypass Python
    (C extensions, subprocesses) are not seen here; the host captures those from the pipes."""

    def __init__(self, connection, name):
        super().__init__()
        self._connection = connection
        self._name = name
        # Re-entrant: a finalizer or signal handler that prints while this thread holds it.
        self._lock = _thread.RLock()
        self._pending = {}  # request id -> [list of str pieces, total length]
        self.buffer = _BinaryWriter(self)

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "backslashreplace"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        if not text:
            return 0
        request_id = _request_id.get()
        with self._lock:
            entry = self._pending.setdefault(request_id, [[], 0])
            entry[0].append(text)
            entry[1] += len(text)
            if "\n" in text or entry[1] >= LOG_CHUNK:
                joined = "".join(entry[0])
                cut = joined.rfind("\n") + 1 if entry[1] < LOG_CHUNK else len(joined)
                rest = joined[cut:]
                entry[0] = [rest] if rest else []
                entry[1] = len(rest)
                self._send(request_id, joined[:cut])
        return len(text)

    def flush(self):
        self.finish(_request_id.get(), forget=False)

    def finish(self, request_id, forget=True):
        """Sends what `request_id` wrote without a final newline."""
        with self._lock:
            entry = self._pending.pop(request_id, None) if forget else self._pending.get(request_id)
            if entry and entry[0]:
                text = "".join(entry[0])
                entry[0], entry[1] = [], 0
                self._send(request_id, text)

    def _send(self, request_id, text):
        data = text.encode("utf-8", "backslashreplace")
        stream = "stderr" if self._name == "<stderr>" else "stdout"
        for chunk in _utf8_chunks(data, LOG_CHUNK):
            self._connection.send("LOG", request_id, chunk, stream)


class _BinaryWriter:
    """`sys.stdout.buffer` for code that writes bytes; they are decoded as UTF-8."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, data):
        self._stream.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self):
        self._stream.flush()

    def writable(self):
        return True


def _configure_logging(logging, stream):
    """The root logger writes Function Compute's log line to `stream`, tagged with the request:
    `2024-05-01T10:00:00.123Z <request-id> [INFO] message`."""

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.request_id = _request_id.get()
            return True

    class Formatter(logging.Formatter):
        def formatTime(self, record, datefmt=None):
            return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)), int(record.msecs))

    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(Formatter("%(asctime)s %(request_id)s [%(levelname)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


class _LoggingSetup:
    """A meta path finder that configures logging (_configure_logging) as soon as anything
    imports it, so that the runtime need not import it up front. It finds the module as Python
    would and wraps its loader's exec_module; then it removes itself."""

    def __init__(self, stream):
        self._stream = stream

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if not _is_stdlib(spec):
            return spec  # the function's own logging.py: not ours to configure
        execute = spec.loader.exec_module
        stream = self._stream

        def exec_module(module):
            execute(module)
            _configure_logging(module, stream)

        spec.loader.exec_module = exec_module
        return spec


# Where the standard library is: sys.path as Python set it up, before /code is put first. With
# -S there are no site-packages in it.
_STDLIB_PATH = [path for path in sys.path[1:] if path]
_importing_for_runtime = _thread._local()


def _is_stdlib(spec):
    origin = getattr(spec, "origin", None)
    if origin in ("built-in", "frozen"):
        return True
    return isinstance(origin, str) and any(origin.startswith(path + os.sep) for path in _STDLIB_PATH)


class _StdlibOnly:
    """A meta path finder that, while this runtime imports a module for itself (_stdlib), finds
    top-level modules in the standard library only, dependencies included."""

    def find_spec(self, name, path=None, target=None):
        if path is not None or not getattr(_importing_for_runtime, "active", False):
            return None
        for finder in sys.meta_path:
            if finder is not self and getattr(finder, "__name__", "") == "PathFinder":
                return finder.find_spec(name, _STDLIB_PATH, target)
        return None


def _stdlib(name):
    """The standard library's module `name` (dotted names too), imported on first use."""
    module = sys.modules.get(name)
    if module is None:
        _importing_for_runtime.active = True
        try:
            __import__(name)
        finally:
            _importing_for_runtime.active = False
        module = sys.modules[name]
    if not _is_stdlib(getattr(module, "__spec__", None)):
        raise ImportError("the function's own module %r hides the standard library's, which the runtime needs; "
                          "rename it" % name)
    return module


def _set_up_logging(stream):
    if "logging" in sys.modules:
        _configure_logging(sys.modules["logging"], stream)
    else:
        sys.meta_path.insert(0, _LoggingSetup(stream))


class FunctionInfo:
    """`context.function`, as in Function Compute (memory in MB, timeouts in seconds)."""

    def __init__(self, config):
        namespace, _, name = config.get("function", "").rpartition("/")
        self.name = name
        self.namespace = namespace
        self.handler = config.get("handler", "")
        self.initializer = config.get("initializer", "")
        self.version = config.get("version", "")
        self.memory = _int(config, "memory_mb", 0)
        self.timeout = _seconds(_int(config, "timeout_ms", 0))
        self.initialization_timeout = _seconds(_int(config, "initializer_timeout_ms", 0))


class ServiceInfo:
    """`context.service`: Function Compute groups functions in services, Surge in namespaces."""

    def __init__(self, function):
        self.name = function.namespace
        self.version_id = function.version


class Context:
    """The `context` argument of handlers and initializers."""

    def __init__(self, function, request_id, remaining_ms):
        self.request_id = request_id
        self.function = function
        self.service = ServiceInfo(function)
        self.function_name = function.name
        self.memory_limit_in_mb = function.memory
        self._deadline = time.monotonic() + remaining_ms / 1000.0

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _int(config, key, default):
    try:
        return int(config.get(key, default))
    except ValueError:
        return default


def _seconds(ms):
    return ms // 1000 if ms % 1000 == 0 else ms / 1000.0


def _parse_init(body):
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProtocolError("INIT body is not UTF-8: %s" % error) from None
    config = {}
    for line in text.split("\n"):
        if line:
            key, sep, value = line.partition("=")
            if not sep:
                raise ProtocolError("INIT line %r is not key=value" % line)
            config[key] = value
    return config


def _resolve(spec, what):
    """`pkg.mod.fn` -> the function fn of module pkg.mod."""
    module_name, _, attribute = spec.rpartition(".")
    if not module_name or not attribute:
        raise ValueError("%s %r is not allowed: use module.function, e.g. index.handler" % (what, spec))
    # __import__ rather than importlib.import_module: the same import, without importing importlib.
    __import__(module_name)
    module = sys.modules[module_name]
    try:
        function = getattr(module, attribute)
    except AttributeError:
        raise AttributeError("%s function %r not found in module %r" % (what, attribute, module_name)) from None
    if not callable(function):
        raise TypeError("%s %r is a %s, not a function" % (what, spec, type(function).__name__))
    return function


# The name this file's code was compiled under (the engine may run a precompiled copy).
_THIS_FILE = (lambda: None).__code__.co_filename


def _is_runtime_frame(frame):
    """Frames of this file and of the import machinery: noise in a user's traceback."""
    name = frame.filename
    return name == _THIS_FILE or name.startswith("<frozen importlib") or name.endswith("importlib/__init__.py")


def _error_body(error):
    """Line 1 the error type, line 2 the message on one line, then the traceback of user code."""
    traceback = _stdlib("traceback")
    trace = traceback.TracebackException(type(error), error, error.__traceback__)
    trace.stack = traceback.StackSummary.from_list([f for f in trace.stack if not _is_runtime_frame(f)])
    message = str(error).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    body = ("%s\n%s\n%s" % (type(error).__name__, message, "".join(trace.format()))).encode(
        "utf-8", "backslashreplace")
    if len(body) > MAX_ERROR_BODY:
        body = body[:MAX_ERROR_BODY - 16] + b"\n... (truncated)"
    return body


def _encode_result(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if value is None or isinstance(value, (dict, list, tuple, int, float)):
        return _stdlib("json").dumps(value, separators=(",", ":")).encode("utf-8")
    raise TypeError("handler returned a value of type %r, which is not supported: return bytes, str, or a "
                    "JSON-serialisable value (dict, list, int, float, bool, None)" % type(value).__name__)


class Runtime:
    def __init__(self, connection, stdout, stderr):
        self._connection = connection
        self._streams = (stdout, stderr)
        self._handler = None
        self._function = None

    def run(self):
        # Loaded and waiting: the host may keep this process pre-started until a function needs it.
        self._connection.send("LOADED", "-")
        frame = self._connection.receive()
        if frame is None:
            os._exit(0)
        type_, _, _, body = frame
        if type_ != "INIT":
            raise ProtocolError("expected INIT as the first frame, got %s" % type_)
        self._initialize(_parse_init(body))
        self._connection.send("READY", "-")
        self._serve()

    def _initialize(self, config):
        try:
            for key, value in config.items():
                if key.startswith("env."):
                    os.environ[key[4:]] = value
            code_dir = config.get("code_dir", "/code")
            # The runtime's own directory is sys.path[0]; user modules must not see it.
            if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
                sys.path[0] = code_dir
            else:
                sys.path.insert(0, code_dir)
            # Function Compute runs handlers in the code directory; relative paths depend on it.
            try:
                os.chdir(code_dir)
            except OSError:
                pass
            self._function = FunctionInfo(config)
            self._concurrency = max(1, _int(config, "concurrency", 1))
            if not config.get("handler"):
                raise ValueError("INIT has no handler")
            self._handler = _resolve(config["handler"], "handler")
            if config.get("initializer"):
                initializer = _resolve(config["initializer"], "initializer")
                initializer(Context(self._function, "", _int(config, "initializer_timeout_ms", 0)))
        except BaseException as error:  # noqa: B036 - SystemExit in user code is an init failure too
            self._flush_streams("-")
            self._connection.send("INITERROR", "-", _error_body(error))
            os._exit(1)
        self._flush_streams("-")

    def _serve(self):
        executor = None
        if self._concurrency > 1:
            executor = _stdlib("concurrent.futures").ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="surge-handler")
        while True:
            frame = self._connection.receive()
            if frame is None:
                # The host closed fd 3: nobody will read results, so in-flight work is moot.
                os._exit(0)
            type_, request_id, args, body = frame
            if type_ == "INVOKE":
                remaining_ms = int(args[0]) if args and args[0].isdigit() else 0
                context = Context(self._function, request_id, remaining_ms)
                if self._concurrency == 1:
                    # One slot: the host sends nothing but CANCEL or STOP while it is busy, so
                    # the main thread serves the request itself and saves a thread hand-off
                    # (a wake-up, tens of microseconds). End of stream is then noticed when the
                    # handler returns; a host that goes away kills the sandbox anyway.
                    contextvars.copy_context().run(self._invoke, request_id, body, context)
                else:
                    executor.submit(contextvars.copy_context().run, self._invoke, request_id, body, context)
            elif type_ == "STOP":
                if executor is not None:
                    executor.shutdown(wait=True)
                self._flush_streams("-")
                atexit._run_exitfuncs()
                self._flush_streams("-")
                os._exit(0)
            # CANCEL and frame types of later protocol versions are ignored: the host stops
            # waiting for a cancelled request by itself, and the handler runs to completion.

    def _invoke(self, request_id, event, context):
        """Runs on a worker thread, in a context of its own."""
        _request_id.set(request_id)
        try:
            try:
                value = self._handler(event, context)
            except BaseException as error:  # noqa: B036 - the instance must survive sys.exit() too
                reply = ("ERROR", _error_body(error))
            else:
                try:
                    result = _encode_result(value)
                    if len(result) > MAX_RESULT:
                        raise ValueError("handler returned %d bytes; the limit is %d bytes (6 MiB)"
                                         % (len(result), MAX_RESULT))
                    reply = ("RESULT", result)
                except Exception as error:
                    reply = ("ERROR", _error_body(error))
            # Logs of a request reach the host before its reply.
            self._flush_streams(request_id)
            self._connection.send(reply[0], request_id, reply[1])
        except BaseException as error:  # noqa: B036 - a worker must never die silently
            _fatal("serving request %s failed: %r" % (request_id, error), EXIT_PROTOCOL_ERROR)

    def _flush_streams(self, request_id):
        for stream in self._streams:
            stream.finish(request_id)


def main():
    connection = Connection(PROTOCOL_FD)
    stdout = LogStream(connection, "<stdout>")
    stderr = LogStream(connection, "<stderr>")
    sys.stdout, sys.stderr = stdout, stderr
    sys.meta_path.insert(0, _StdlibOnly())
    _set_up_logging(stderr)
    try:
        Runtime(connection, stdout, stderr).run()
    except ProtocolError as error:
        _fatal("protocol error: %s" % error, EXIT_PROTOCOL_ERROR)
    except OSError as error:
        _fatal("cannot read fd %d: %s" % (PROTOCOL_FD, error), EXIT_PROTOCOL_ERROR)
    except BaseException:  # noqa: B036 - a bug here must reach the host's stderr capture
        _fatal("internal error:\n%s" % _stdlib("traceback").format_exc(), EXIT_PROTOCOL_ERROR)


if __name__ == "__main__":
    main()
