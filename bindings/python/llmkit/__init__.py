"""llmkit — run open-weight LLMs locally on the CPU (Python bindings over the stable C ABI).

    model = llmkit.Model("stories260K.gguf")
    ids = model.tokenize("Once upon a time")
    for chunk in model.generate("Once upon a time", max_new_tokens=32, temperature=0):
        print(chunk, end="")

Threading (as documented in llmkit.h): a Model and a Tokenizer may be used from any number of
threads at once; a Session by one thread at a time (Session.cancel() from any thread). Every
error raises an LlmkitError subclass carrying the C library's message.
"""
from __future__ import annotations

import ctypes
import queue
import threading
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Union

from . import _lib as C

__all__ = [
    "Model", "Session", "Tokenizer", "Generation", "GenerationResult", "Timings", "ModelInfo", "MemoryEstimate",
    "LlmkitError", "InvalidArgumentError", "NotFoundError", "IoError", "CorruptFileError", "UnsupportedError",
    "OutOfMemoryError", "OutOfRangeError", "CancelledError", "InternalError", "NetworkUnavailableError",
    "BufferTooSmallError", "version", "library_version",
]

__version__ = "0.1.0"


# ---- errors ---------------------------------------------------------------------------------------
class LlmkitError(Exception):
    """An llmkit call failed. `status` is the C llmkit_status (negative), `message` the C message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class InvalidArgumentError(LlmkitError, ValueError): pass
class NotFoundError(LlmkitError): pass
class IoError(LlmkitError, OSError): pass
class CorruptFileError(LlmkitError): pass
class UnsupportedError(LlmkitError): pass
class OutOfMemoryError(LlmkitError, MemoryError): pass
class OutOfRangeError(LlmkitError): pass
class CancelledError(LlmkitError): pass
class InternalError(LlmkitError): pass
class NetworkUnavailableError(LlmkitError): pass
class BufferTooSmallError(LlmkitError): pass


_ERRORS: Dict[int, type] = {
    C.ERR_INVALID_ARGUMENT: InvalidArgumentError, C.ERR_NOT_FOUND: NotFoundError, C.ERR_IO: IoError,
    C.ERR_CORRUPT_FILE: CorruptFileError, C.ERR_UNSUPPORTED: UnsupportedError,
    C.ERR_OUT_OF_MEMORY: OutOfMemoryError, C.ERR_OUT_OF_RANGE: OutOfRangeError, C.ERR_CANCELLED: CancelledError,
    C.ERR_INTERNAL: InternalError, C.ERR_NETWORK_UNAVAILABLE: NetworkUnavailableError,
    C.ERR_BUFFER_TOO_SMALL: BufferTooSmallError,
}


def _error(status: int) -> LlmkitError:
    msg = C.lib().llmkit_last_error().decode("utf-8", "replace")
    return _ERRORS.get(status, LlmkitError)(status, msg or C.lib().llmkit_status_str(status).decode())


def _check(status: int) -> None:
    if status != C.OK:
        raise _error(status)


def _text(fn: Callable[[Optional[ctypes.Array], int, ctypes.c_size_t], int]) -> str:
    """Runs a two-call-pattern text function: fn(buf, capacity, out_len)."""
    n = ctypes.c_size_t(0)
    _check(fn(None, 0, ctypes.byref(n)))
    buf = ctypes.create_string_buffer(n.value + 1)
    _check(fn(buf, len(buf), ctypes.byref(n)))
    return buf.raw[: n.value].decode("utf-8")


def _ids(fn: Callable[[Optional[ctypes.Array], int, ctypes.c_size_t], int]) -> List[int]:
    n = ctypes.c_size_t(0)
    _check(fn(None, 0, ctypes.byref(n)))
    arr = (ctypes.c_int32 * max(n.value, 1))()
    _check(fn(arr, n.value, ctypes.byref(n)))
    return list(arr[: n.value])


def _id_array(ids: Sequence[int]) -> ctypes.Array:
    ids = list(ids)
    return (ctypes.c_int32 * max(len(ids), 1))(*ids)


def version() -> str:
    """Version of the Python package."""
    return __version__


def library_version() -> str:
    """Version of the loaded libllmkit.so."""
    return C.lib().llmkit_version_string().decode()


# ---- plain data -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelInfo:
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    n_ctx_train: int
    n_params: int
    load_ms: float


@dataclass(frozen=True)
class MemoryEstimate:
    n_ctx: int
    weights_bytes: int
    kv_cache_bytes: int
    scratch_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class Timings:
    n_prefill: int = 0
    n_reused: int = 0
    n_decode: int = 0
    load_ms: float = 0.0
    prefill_ms: float = 0.0
    decode_ms: float = 0.0
    ttft_ms: float = 0.0

    @property
    def decode_tok_per_s(self) -> float:
        return self.n_decode * 1000.0 / self.decode_ms if self.decode_ms > 0 else 0.0

    @property
    def prefill_tok_per_s(self) -> float:
        return self.n_prefill * 1000.0 / self.prefill_ms if self.prefill_ms > 0 else 0.0

    @staticmethod
    def _from(t: C.Timings) -> "Timings":
        return Timings(t.n_prefill, t.n_reused, t.n_decode, t.load_ms, t.prefill_ms, t.decode_ms, t.ttft_ms)


@dataclass
class GenerationResult:
    text: str
    tokens: List[int]
    finish_reason: str  # "max_tokens", "end_of_generation", "stop_token", "stop_string", "context_full", "cancelled"
    timings: Timings = field(default_factory=Timings)


Message = Mapping[str, str]
Prompt = Union[str, Sequence[int]]


# ---- tokenizer ------------------------------------------------------------------------------------
class Tokenizer:
    """An immutable tokenizer (thread-safe). From Model.tokenizer or Tokenizer(path)."""

    def __init__(self, path: Optional[str] = None, *, _handle: Optional[int] = None):
        self._h: Optional[int] = None
        if _handle is not None:
            self._h = _handle
            return
        if path is None:
            raise InvalidArgumentError(C.ERR_INVALID_ARGUMENT, "Tokenizer: path is required")
        h = ctypes.c_void_p()
        _check(C.lib().llmkit_tokenizer_load(str(path).encode(), ctypes.byref(h)))
        self._h = h.value

    def close(self) -> None:
        if self._h is not None:
            C.lib().llmkit_tokenizer_free(self._h)
            self._h = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _handle(self) -> int:
        if self._h is None:
            raise InvalidArgumentError(C.ERR_INVALID_ARGUMENT, "the tokenizer is closed")
        return self._h

    def encode(self, text: str, *, add_special: bool = True, parse_special: bool = False) -> List[int]:
        data = text.encode("utf-8")
        flags = (C.TOKENIZE_ADD_SPECIAL if add_special else 0) | (C.TOKENIZE_PARSE_SPECIAL if parse_special else 0)
        h = self._handle()
        return _ids(lambda buf, cap, n: C.lib().llmkit_tokenizer_encode(h, data, len(data), flags, buf, cap, n))

    def decode(self, ids: Sequence[int], *, skip_special: bool = False) -> str:
        arr = _id_array(ids)
        count = len(list(ids))
        flags = C.DECODE_SKIP_SPECIAL if skip_special else 0
        h = self._handle()
        return _text(lambda buf, cap, n: C.lib().llmkit_tokenizer_decode(h, arr, count, flags, buf, cap, n))

    def token_text(self, token: int) -> str:
        h = self._handle()
        return _text(lambda buf, cap, n: C.lib().llmkit_tokenizer_token_text(h, token, buf, cap, n))

    @property
    def n_vocab(self) -> int:
        return C.lib().llmkit_tokenizer_n_vocab(self._handle())

    def special_id(self, which: str) -> Optional[int]:
        """Id of "bos", "eos", "eot", "pad" or "unk"; None when the tokenizer has none."""
        if which not in C.SPECIAL:
            raise InvalidArgumentError(C.ERR_INVALID_ARGUMENT, f"unknown special token {which!r}")
        i = C.lib().llmkit_tokenizer_special_id(self._handle(), C.SPECIAL[which])
        return None if i < 0 else i

    @property
    def bos_id(self) -> Optional[int]:
        return self.special_id("bos")

    @property
    def eos_id(self) -> Optional[int]:
        return self.special_id("eos")

    def is_end_of_generation(self, token: int) -> bool:
        return bool(C.lib().llmkit_tokenizer_is_end_of_generation(self._handle(), token))


# ---- model ----------------------------------------------------------------------------------------
class Model:
    """A loaded model (immutable, thread-safe). `Model(path)` loads a GGUF file or an HF folder."""

    def __init__(self, path: str, *, backend: str = "fast", n_threads: int = 0, use_mmap: bool = True,
                 progress: Optional[Callable[[float], bool]] = None, repack_cache_dir: Optional[str] = None):
        """repack_cache_dir: directory of the on-disk cache of repacked weights (None: no cache);
        the first load writes it, later loads map it (fast reloads). See `repack_cache`."""
        L = C.lib()
        p = C.ModelParams()
        L.llmkit_model_params_init_sized(ctypes.byref(p), ctypes.sizeof(p))
        if backend not in C.BACKENDS:
            raise InvalidArgumentError(C.ERR_INVALID_ARGUMENT, f"backend must be one of {list(C.BACKENDS)}")
        p.backend = C.BACKENDS[backend]
        p.n_threads = n_threads
        p.use_mmap = 1 if use_mmap else 0
        p.repack_cache_dir = str(repack_cache_dir).encode() if repack_cache_dir else None
        self._progress_cb = None
        if progress is not None:
            def _cb(fraction: float, _ud: Optional[int]) -> int:
                try:
                    return 0 if progress(fraction) is False else 1
                except BaseException:  # an exception in the callback cancels the load
                    return 0
            self._progress_cb = C.PROGRESS_CB(_cb)
            p.progress_callback = self._progress_cb
        self._h: Optional[int] = None
        h = ctypes.c_void_p()
        _check(L.llmkit_model_load(str(path).encode(), ctypes.byref(p), ctypes.byref(h)))
        self._h = h.value
        self._tokenizer: Optional[Tokenizer] = None
        self._default_session: Optional[Session] = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Releases the model handle (sessions created from it keep working)."""
        if self._tokenizer is not None:
            self._tokenizer.close()
            self._tokenizer = None
        if self._default_session is not None:
            self._default_session.close()
            self._default_session = None
        if self._h is not None:
            C.lib().llmkit_model_free(self._h)
            self._h = None

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _handle(self) -> int:
        if self._h is None:
            raise InvalidArgumentError(C.ERR_INVALID_ARGUMENT, "the model is closed")
        return self._h

    # -- metadata --
    @property
    def info(self) -> ModelInfo:
        i = C.ModelInfo()
        i.struct_size = ctypes.sizeof(i)
        _check(C.lib().llmkit_model_get_info(self._handle(), ctypes.byref(i)))
        return ModelInfo(i.n_vocab, i.n_embd, i.n_layer, i.n_head, i.n_head_kv, i.head_dim, i.n_ff, i.n_ctx_train,
                         i.n_params, i.load_ms)

    def _string(self, which: str) -> str:
        h = self._handle()
        return _text(lambda buf, cap, n: C.lib().llmkit_model_get_string(h, C.MODEL_STRINGS[which], buf, cap, n))

    @property
    def architecture(self) -> str:
        return self._string("architecture")

    @property
    def name(self) -> str:
        return self._string("name")

    @property
    def license(self) -> str:
        return self._string("license")

    @property
    def repack_cache(self) -> str:
        """What the repack cache did at load ("" when none was configured)."""
        return self._string("repack_cache")

    @property
    def chat_template(self) -> Optional[str]:
        try:
            return self._string("chat_template")
        except NotFoundError:
            return None

    def meta(self, key: str) -> str:
        """Any metadata value by key, as text (GGUF keys; config.json keys for HF folders)."""
        h = self._handle()
        k = key.encode("utf-8")
        return _text(lambda buf, cap, n: C.lib().llmkit_model_get_meta(h, k, buf, cap, n))

    def estimate_memory(self, n_ctx: int = 0, kv_type: str = "f16") -> MemoryEstimate:
        if kv_type not in C.KV_TYPES:
            raise InvalidArgumentError(C.ERR_INVALID_ARGUMENT, f"kv_type must be one of {list(C.KV_TYPES)}")
        e = C.MemoryEstimate()
        e.struct_size = ctypes.sizeof(e)
        _check(C.lib().llmkit_model_estimate_memory(self._handle(), n_ctx, C.KV_TYPES[kv_type], ctypes.byref(e)))
        return MemoryEstimate(e.n_ctx, e.weights_bytes, e.kv_cache_bytes, e.scratch_bytes, e.total_bytes)

    # -- tokenizer --
    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            h = ctypes.c_void_p()
            _check(C.lib().llmkit_tokenizer_from_model(self._handle(), ctypes.byref(h)))
            self._tokenizer = Tokenizer(_handle=h.value)
        return self._tokenizer

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = False) -> List[int]:
        return self.tokenizer.encode(text, add_special=add_special, parse_special=parse_special)

    def detokenize(self, ids: Sequence[int], *, skip_special: bool = False) -> str:
        return self.tokenizer.decode(ids, skip_special=skip_special)

    # -- chat --
    def apply_chat_template(self, messages: Iterable[Message], *, add_generation_prompt: bool = True) -> str:
        msgs = list(messages)
        keep = [(m["role"].encode("utf-8"), m["content"].encode("utf-8")) for m in msgs]
        arr = (C.ChatMessage * max(len(keep), 1))(*[C.ChatMessage(r, c) for r, c in keep])
        h = self._handle()
        return _text(lambda buf, cap, n: C.lib().llmkit_model_apply_chat_template(
            h, arr, len(keep), 1 if add_generation_prompt else 0, buf, cap, n))

    # -- generation --
    def session(self, *, n_ctx: int = 0, kv_type: str = "f16", n_threads: int = 0, n_batch: int = 256) -> "Session":
        return Session(self, n_ctx=n_ctx, kv_type=kv_type, n_threads=n_threads, n_batch=n_batch)

    def _session(self) -> "Session":
        if self._default_session is None:
            self._default_session = self.session()
        return self._default_session

    def generate(self, prompt: Prompt, **sampling: object) -> "Generation":
        """Streams the completion of PROMPT (text or token ids) as text chunks. Keyword arguments: sampling
        (temperature, top_k, top_p, min_p, repeat_penalty, penalty_last_n, frequency_penalty,
        presence_penalty, seed, logit_bias={id: bias}) and generation options (max_new_tokens,
        stop=[...], stop_tokens=[...], stop_at_end_of_generation, context_full_is_error). Uses the
        model's default session, so a growing conversation reuses its cached prefix."""
        return self._session().generate(prompt, **sampling)

    def chat(self, messages: Iterable[Message], **sampling: object) -> "Generation":
        """Formats MESSAGES with the model's chat template and streams the assistant's reply."""
        return self.generate(self.apply_chat_template(messages, add_generation_prompt=True), **sampling)


# ---- session --------------------------------------------------------------------------------------
_SAMPLER_KEYS = {"temperature", "top_k", "top_p", "min_p", "repeat_penalty", "penalty_last_n",
                 "frequency_penalty", "presence_penalty", "seed"}
_GEN_KEYS = {"max_new_tokens", "stop_at_end_of_generation", "context_full_is_error"}


class _CallArgs:
    """Keeps the ctypes objects of one generate call alive for its duration."""

    def __init__(self, options: Mapping[str, object]):
        L = C.lib()
        self.sampler = C.SamplerParams()
        L.llmkit_sampler_params_init(ctypes.byref(self.sampler))
        self.gen = C.GenerateParams()
        L.llmkit_generate_params_init(ctypes.byref(self.gen))
        for k, v in options.items():
            if k in _SAMPLER_KEYS:
                setattr(self.sampler, k, v)
            elif k in _GEN_KEYS:
                setattr(self.gen, k, int(v))  # type: ignore[arg-type]
            elif k == "logit_bias":
                items = list(dict(v).items())  # type: ignore[arg-type]
                self.bias = (C.LogitBias * max(len(items), 1))(*[C.LogitBias(t, b) for t, b in items])
                self.sampler.logit_bias = self.bias
                self.sampler.n_logit_bias = len(items)
            elif k == "stop":
                stops = [v] if isinstance(v, str) else list(v)  # type: ignore[arg-type]
                self.stop_bytes = [s.encode("utf-8") for s in stops]
                self.stops = (ctypes.c_char_p * max(len(stops), 1))(*self.stop_bytes)
                self.gen.stop_strings = self.stops
                self.gen.n_stop_strings = len(stops)
            elif k == "stop_tokens":
                ids = list(v)  # type: ignore[arg-type]
                self.stop_ids = _id_array(ids)
                self.gen.stop_tokens = self.stop_ids
                self.gen.n_stop_tokens = len(ids)
            else:
                raise InvalidArgumentError(C.ERR_INVALID_ARGUMENT, f"unknown generation option {k!r}")
        self.result = C.GenerationResult()
        self.result.struct_size = ctypes.sizeof(self.result)


class Session:
    """One conversation (KV cache). Used by one thread at a time; cancel() from any thread."""

    def __init__(self, model: Model, *, n_ctx: int = 0, kv_type: str = "f16", n_threads: int = 0,
                 n_batch: int = 256):
        L = C.lib()
        if kv_type not in C.KV_TYPES:
            raise InvalidArgumentError(C.ERR_INVALID_ARGUMENT, f"kv_type must be one of {list(C.KV_TYPES)}")
        p = C.SessionParams()
        L.llmkit_session_params_init(ctypes.byref(p))
        p.n_ctx, p.kv_type, p.n_threads, p.n_batch = n_ctx, C.KV_TYPES[kv_type], n_threads, n_batch
        h = ctypes.c_void_p()
        self._h: Optional[int] = None
        _check(L.llmkit_session_create(model._handle(), ctypes.byref(p), ctypes.byref(h)))
        self._h = h.value
        self._busy = threading.Lock()  # one generation at a time
        self.model = model

    def close(self) -> None:
        if self._h is not None:
            with self._busy:
                C.lib().llmkit_session_free(self._h)
                self._h = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _handle(self) -> int:
        if self._h is None:
            raise InvalidArgumentError(C.ERR_INVALID_ARGUMENT, "the session is closed")
        return self._h

    def _acquire(self) -> None:
        if not self._busy.acquire(blocking=False):
            raise InvalidArgumentError(C.ERR_INVALID_ARGUMENT,
                                       "the session is busy with another generation (one at a time)")

    def evaluate(self, ids: Sequence[int]) -> None:
        ids = list(ids)
        self._acquire()
        try:
            _check(C.lib().llmkit_session_evaluate(self._handle(), _id_array(ids), len(ids)))
        finally:
            self._busy.release()

    def logits(self) -> List[float]:
        """Next-token logits after the last evaluated token (a copy)."""
        n = ctypes.c_size_t(0)
        p = C.lib().llmkit_session_logits(self._handle(), ctypes.byref(n))
        if not p:
            raise _error(C.ERR_NOT_FOUND)
        return p[: n.value]

    @property
    def tokens(self) -> List[int]:
        h = self._handle()
        return _ids(lambda buf, cap, n: C.lib().llmkit_session_get_tokens(h, buf, cap, n))

    @property
    def n_ctx(self) -> int:
        return C.lib().llmkit_session_n_ctx(self._handle())

    def reset(self) -> None:
        _check(C.lib().llmkit_session_reset(self._handle()))

    def truncate(self, n_keep: int) -> None:
        _check(C.lib().llmkit_session_truncate(self._handle(), n_keep))

    def cancel(self) -> None:
        """Stops the running (or the next) generation within one token. Thread-safe."""
        _check(C.lib().llmkit_session_cancel(self._handle()))

    @property
    def last_timings(self) -> Timings:
        t = C.Timings()
        t.struct_size = ctypes.sizeof(t)
        _check(C.lib().llmkit_session_last_timings(self._handle(), ctypes.byref(t)))
        return Timings._from(t)

    def generate(self, prompt: Prompt, **options: object) -> "Generation":
        """Streams the completion of PROMPT (see Model.generate for the options)."""
        return Generation(self, prompt, _CallArgs(options))

    def complete(self, prompt: Prompt, **options: object) -> GenerationResult:
        """Non-streaming generate: runs to the end and returns the result."""
        g = self.generate(prompt, **options)
        for _ in g:
            pass
        assert g.result is not None
        return g.result


class Generation(Iterator[str]):
    """Iterator over the text chunks of one generation (UTF-8-complete). The C call runs on a worker
    thread; chunks arrive through a queue. After exhaustion `result` holds the GenerationResult.
    Closing the iterator early (close(), break + garbage collection) stops the generation."""

    _END = object()

    def __init__(self, session: Session, prompt: Prompt, args: _CallArgs):
        self.result: Optional[GenerationResult] = None
        self.tokens: List[int] = []
        self._session = session
        self._args = args
        self._queue: "queue.Queue[object]" = queue.Queue()
        self._stop = threading.Event()
        self._error: Optional[LlmkitError] = None
        h = session._handle()
        session._acquire()
        if isinstance(prompt, str):
            self._prompt_text: Optional[bytes] = prompt.encode("utf-8")
            self._prompt_ids = None
        else:
            self._prompt_text = None
            ids = list(prompt)
            self._prompt_ids = (_id_array(ids), len(ids))

        def on_token(text: ctypes.POINTER(ctypes.c_char), length: int, token: int, _ud: Optional[int]) -> int:
            self._queue.put((ctypes.string_at(text, length).decode("utf-8", "replace"), token))
            return 0 if self._stop.is_set() else 1

        self._cb = C.TOKEN_CB(on_token)
        self._thread = threading.Thread(target=self._run, args=(h,), daemon=True)
        self._thread.start()

    def _run(self, h: int) -> None:
        L = C.lib()
        a = self._args
        try:
            if self._prompt_text is not None:
                st = L.llmkit_session_generate_text(h, self._prompt_text, ctypes.byref(a.sampler), ctypes.byref(a.gen),
                                                    self._cb, None, ctypes.byref(a.result))
            else:
                arr, n = self._prompt_ids  # type: ignore[misc]
                st = L.llmkit_session_generate(h, arr, n, ctypes.byref(a.sampler), ctypes.byref(a.gen), self._cb, None,
                                               ctypes.byref(a.result))
            # last_error is thread-local: read it on this thread.
            text = _text(lambda buf, cap, n: L.llmkit_session_last_text(h, buf, cap, n)) if st in (
                C.OK, C.ERR_CANCELLED) else ""
            if st != C.OK:
                self._error = _error(st)
            r = a.result
            tokens = _ids(lambda buf, cap, n: L.llmkit_session_last_tokens(h, buf, cap, n))
            self.result = GenerationResult(text, tokens, C.FINISH_REASONS[r.finish_reason]
                                           if 0 <= r.finish_reason < len(C.FINISH_REASONS) else "unknown",
                                           Timings._from(r.timings))
        except LlmkitError as e:
            self._error = e
        finally:
            self._session._busy.release()
            self._queue.put(self._END)

    def __iter__(self) -> "Generation":
        return self

    def __next__(self) -> str:
        item = self._queue.get()
        if item is self._END:
            self._queue.put(self._END)  # stay exhausted
            self._thread.join()
            if self._error is not None:
                err, self._error = self._error, None
                raise err
            raise StopIteration
        text, token = item  # type: ignore[misc]
        self.tokens.append(token)
        return text

    def text(self) -> str:
        """Consumes the rest and returns the whole generated text."""
        for _ in self:
            pass
        return self.result.text if self.result else ""

    def close(self) -> None:
        """Stops the generation (if still running) and waits for the worker thread."""
        self._stop.set()
        self._thread.join()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
