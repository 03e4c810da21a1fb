//! Safe Rust API over llmkit's stable C ABI (`bindings/c/llmkit.h`): run open-weight LLMs locally
//! on the CPU.
//!
//! ```no_run
//! let model = llmkit::Model::load("stories260K.gguf").unwrap();
//! let mut session = model.session(&llmkit::SessionOptions::default()).unwrap();
//! let opts = llmkit::GenerateOptions { max_new_tokens: 32, ..Default::default() };
//! for chunk in session.stream(&[1], &llmkit::SamplerOptions::greedy(), &opts).unwrap() {
//!     print!("{}", chunk.unwrap().text);
//! }
//! ```
//!
//! Thread-safety, exactly as the header documents it: [`Model`] and [`Tokenizer`] are immutable
//! and `Send + Sync` (share them with `Arc` across threads). A [`Session`] is used by one thread at
//! a time: it is `Send` but not `Sync`. Cancelling from another thread goes through a
//! [`CancelHandle`] (`Send + Sync`), which keeps the session alive while it exists.
//! Errors are [`Error`] values carrying the status and the C library's message; nothing panics
//! across the FFI boundary (callbacks catch panics and stop the generation).

use llmkit_sys as sys;
use std::ffi::{c_void, CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

// ---- errors --------------------------------------------------------------------------------------

/// The status codes of llmkit.h (negative values of the C `llmkit_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    NotFound,
    Io,
    CorruptFile,
    Unsupported,
    OutOfMemory,
    OutOfRange,
    Cancelled,
    Internal,
    NetworkUnavailable,
    BufferTooSmall,
    Unknown(i32),
}

impl ErrorKind {
    fn from_status(s: i32) -> ErrorKind {
        match s {
            sys::LLMKIT_ERR_INVALID_ARGUMENT => ErrorKind::InvalidArgument,
            sys::LLMKIT_ERR_NOT_FOUND => ErrorKind::NotFound,
            sys::LLMKIT_ERR_IO => ErrorKind::Io,
            sys::LLMKIT_ERR_CORRUPT_FILE => ErrorKind::CorruptFile,
            sys::LLMKIT_ERR_UNSUPPORTED => ErrorKind::Unsupported,
            sys::LLMKIT_ERR_OUT_OF_MEMORY => ErrorKind::OutOfMemory,
            sys::LLMKIT_ERR_OUT_OF_RANGE => ErrorKind::OutOfRange,
            sys::LLMKIT_ERR_CANCELLED => ErrorKind::Cancelled,
            sys::LLMKIT_ERR_INTERNAL => ErrorKind::Internal,
            sys::LLMKIT_ERR_NETWORK_UNAVAILABLE => ErrorKind::NetworkUnavailable,
            sys::LLMKIT_ERR_BUFFER_TOO_SMALL => ErrorKind::BufferTooSmall,
            other => ErrorKind::Unknown(other),
        }
    }
}

/// A failed llmkit call: the status and the library's message.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub status: i32,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}
impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn invalid(message: impl Into<String>) -> Error {
    Error { kind: ErrorKind::InvalidArgument, status: sys::LLMKIT_ERR_INVALID_ARGUMENT, message: message.into() }
}

/// Builds an Error from STATUS and this thread's llmkit_last_error().
fn last_error(status: i32) -> Error {
    let message = unsafe {
        let p = sys::llmkit_last_error();
        if p.is_null() { String::new() } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
    };
    Error { kind: ErrorKind::from_status(status), status, message }
}

fn check(status: i32) -> Result<()> {
    if status == sys::LLMKIT_OK { Ok(()) } else { Err(last_error(status)) }
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| invalid(format!("{what} contains a NUL byte")))
}

/// Two-call pattern for text outputs.
fn read_text(mut f: impl FnMut(*mut c_char, usize, *mut usize) -> i32) -> Result<String> {
    let mut n = 0usize;
    check(f(ptr::null_mut(), 0, &mut n))?;
    let mut buf = vec![0u8; n + 1];
    check(f(buf.as_mut_ptr() as *mut c_char, buf.len(), &mut n))?;
    buf.truncate(n);
    String::from_utf8(buf).map_err(|e| Error {
        kind: ErrorKind::Internal,
        status: sys::LLMKIT_ERR_INTERNAL,
        message: format!("llmkit returned invalid UTF-8: {e}"),
    })
}

/// Two-call pattern for token-id outputs.
fn read_ids(mut f: impl FnMut(*mut i32, usize, *mut usize) -> i32) -> Result<Vec<i32>> {
    let mut n = 0usize;
    check(f(ptr::null_mut(), 0, &mut n))?;
    let mut buf = vec![0i32; n.max(1)];
    check(f(buf.as_mut_ptr(), n, &mut n))?;
    buf.truncate(n);
    Ok(buf)
}

/// `MAJOR.MINOR.PATCH` of the loaded library.
pub fn library_version() -> String {
    unsafe { CStr::from_ptr(sys::llmkit_version_string()).to_string_lossy().into_owned() }
}

// ---- model ---------------------------------------------------------------------------------------

/// Sizes of a loaded model.
#[derive(Debug, Clone, Copy)]
pub struct ModelInfo {
    pub n_vocab: u32,
    pub n_embd: u32,
    pub n_layer: u32,
    pub n_head: u32,
    pub n_head_kv: u32,
    pub head_dim: u32,
    pub n_ff: u32,
    pub n_ctx_train: u32,
    pub n_params: u64,
    pub load_ms: f64,
}

/// Memory needed to run a model with a given context.
#[derive(Debug, Clone, Copy)]
pub struct MemoryEstimate {
    pub n_ctx: u32,
    pub weights_bytes: u64,
    pub kv_cache_bytes: u64,
    pub scratch_bytes: u64,
    pub total_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvType {
    F32,
    F16,
    BF16,
}
impl KvType {
    fn raw(self) -> i32 {
        match self {
            KvType::F32 => sys::LLMKIT_KV_F32,
            KvType::F16 => sys::LLMKIT_KV_F16,
            KvType::BF16 => sys::LLMKIT_KV_BF16,
        }
    }
}

/// A chat message for [`Model::apply_chat_template`].
#[derive(Debug, Clone)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}
impl ChatMessage {
    pub fn new(role: &str, content: &str) -> Self {
        ChatMessage { role: role.into(), content: content.into() }
    }
}

/// A loaded model: immutable, shareable across threads (`Send + Sync`, as llmkit.h documents).
pub struct Model {
    raw: *mut sys::llmkit_model,
}
// SAFETY: llmkit.h: "A llmkit_model ... is immutable after creation and may be used from any
// number of threads at once"; llmkit_model_free runs only from Drop (exclusive access).
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Drop for Model {
    fn drop(&mut self) {
        unsafe { sys::llmkit_model_free(self.raw) }
    }
}

impl Model {
    /// Loads a GGUF file or a Hugging Face folder with default options.
    pub fn load(path: &str) -> Result<Model> {
        Self::load_with_progress(path, |_| true)
    }

    /// Loads with a progress callback (fraction 0..=1); returning false cancels the load.
    pub fn load_with_progress(path: &str, progress: impl FnMut(f32) -> bool) -> Result<Model> {
        Self::load_impl(path, None, progress)
    }

    /// Loads with an on-disk cache of repacked weights in `dir` (see llmkit.h,
    /// `repack_cache_dir`): the first load writes it, later loads map it (much faster).
    pub fn load_with_repack_cache(path: &str, dir: &str) -> Result<Model> {
        Self::load_impl(path, Some(dir), |_| true)
    }

    fn load_impl(path: &str, repack_cache_dir: Option<&str>, mut progress: impl FnMut(f32) -> bool) -> Result<Model> {
        let cpath = cstring(path, "path")?;
        let cdir = match repack_cache_dir {
            Some(d) => Some(cstring(d, "repack_cache_dir")?),
            None => None,
        };
        let mut params: sys::llmkit_model_params = unsafe { std::mem::zeroed() };
        unsafe { sys::llmkit_model_params_init_sized(&mut params, std::mem::size_of::<sys::llmkit_model_params>()) };
        if let Some(d) = &cdir {
            params.repack_cache_dir = d.as_ptr();
        }
        unsafe extern "C" fn trampoline(fraction: f32, ud: *mut c_void) -> c_int {
            let f = &mut *(ud as *mut &mut dyn FnMut(f32) -> bool);
            match catch_unwind(AssertUnwindSafe(|| f(fraction))) {
                Ok(true) => 1,
                _ => 0,
            }
        }
        let mut dynf: &mut dyn FnMut(f32) -> bool = &mut progress;
        params.progress_callback = Some(trampoline);
        params.progress_user_data = &mut dynf as *mut _ as *mut c_void;
        let mut raw = ptr::null_mut();
        check(unsafe { sys::llmkit_model_load(cpath.as_ptr(), &params, &mut raw) })?;
        Ok(Model { raw })
    }

    pub fn info(&self) -> Result<ModelInfo> {
        let mut i = sys::llmkit_model_info { struct_size: std::mem::size_of::<sys::llmkit_model_info>() as u32, ..Default::default() };
        check(unsafe { sys::llmkit_model_get_info(self.raw, &mut i) })?;
        Ok(ModelInfo {
            n_vocab: i.n_vocab,
            n_embd: i.n_embd,
            n_layer: i.n_layer,
            n_head: i.n_head,
            n_head_kv: i.n_head_kv,
            head_dim: i.head_dim,
            n_ff: i.n_ff,
            n_ctx_train: i.n_ctx_train,
            n_params: i.n_params,
            load_ms: i.load_ms,
        })
    }

    fn string(&self, which: sys::llmkit_model_string) -> Result<String> {
        read_text(|b, c, n| unsafe { sys::llmkit_model_get_string(self.raw, which, b, c, n) })
    }
    pub fn architecture(&self) -> Result<String> {
        self.string(sys::LLMKIT_MODEL_ARCHITECTURE)
    }
    pub fn name(&self) -> Result<String> {
        self.string(sys::LLMKIT_MODEL_NAME)
    }
    pub fn license(&self) -> Result<String> {
        self.string(sys::LLMKIT_MODEL_LICENSE)
    }
    /// What the repack cache did at load ("" when none was configured).
    pub fn repack_cache_note(&self) -> Result<String> {
        self.string(sys::LLMKIT_MODEL_REPACK_CACHE)
    }
    /// The raw chat template, or None when the model has none.
    pub fn chat_template(&self) -> Result<Option<String>> {
        match self.string(sys::LLMKIT_MODEL_CHAT_TEMPLATE) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
    /// Any metadata value by key, as text.
    pub fn meta(&self, key: &str) -> Result<String> {
        let k = cstring(key, "key")?;
        read_text(|b, c, n| unsafe { sys::llmkit_model_get_meta(self.raw, k.as_ptr(), b, c, n) })
    }
    pub fn estimate_memory(&self, n_ctx: u32, kv: KvType) -> Result<MemoryEstimate> {
        let mut e = sys::llmkit_memory_estimate { struct_size: std::mem::size_of::<sys::llmkit_memory_estimate>() as u32, ..Default::default() };
        check(unsafe { sys::llmkit_model_estimate_memory(self.raw, n_ctx, kv.raw(), &mut e) })?;
        Ok(MemoryEstimate {
            n_ctx: e.n_ctx,
            weights_bytes: e.weights_bytes,
            kv_cache_bytes: e.kv_cache_bytes,
            scratch_bytes: e.scratch_bytes,
            total_bytes: e.total_bytes,
        })
    }
    pub fn apply_chat_template(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let owned: Vec<(CString, CString)> = messages
            .iter()
            .map(|m| Ok((cstring(&m.role, "role")?, cstring(&m.content, "content")?)))
            .collect::<Result<_>>()?;
        let raw: Vec<sys::llmkit_chat_message> =
            owned.iter().map(|(r, c)| sys::llmkit_chat_message { role: r.as_ptr(), content: c.as_ptr() }).collect();
        read_text(|b, c, n| unsafe {
            sys::llmkit_model_apply_chat_template(self.raw, raw.as_ptr(), raw.len(), add_generation_prompt as c_int, b, c, n)
        })
    }
    /// A new handle on the model's tokenizer (keeps the model data alive).
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        let mut raw = ptr::null_mut();
        check(unsafe { sys::llmkit_tokenizer_from_model(self.raw, &mut raw) })?;
        Ok(Tokenizer { raw })
    }
    /// A new session (KV cache). The session keeps the model alive.
    pub fn session(&self, options: &SessionOptions) -> Result<Session> {
        let mut p = sys::llmkit_session_params::default();
        unsafe { sys::llmkit_session_params_init(&mut p) };
        p.n_ctx = options.n_ctx;
        p.kv_type = options.kv_type.raw();
        p.n_threads = options.n_threads;
        p.n_batch = options.n_batch;
        let mut raw = ptr::null_mut();
        check(unsafe { sys::llmkit_session_create(self.raw, &p, &mut raw) })?;
        Ok(Session { inner: Arc::new(SessionInner { raw, busy: false.into() }), _not_sync: std::marker::PhantomData })
    }
}

// ---- tokenizer -----------------------------------------------------------------------------------

/// An immutable tokenizer (`Send + Sync`).
pub struct Tokenizer {
    raw: *mut sys::llmkit_tokenizer,
}
// SAFETY: llmkit.h documents tokenizers as immutable and usable from any number of threads.
unsafe impl Send for Tokenizer {}
unsafe impl Sync for Tokenizer {}

impl Drop for Tokenizer {
    fn drop(&mut self) {
        unsafe { sys::llmkit_tokenizer_free(self.raw) }
    }
}

impl Tokenizer {
    /// Loads only a tokenizer (GGUF vocabulary, tokenizer.json, tokenizer.model or an HF folder).
    pub fn load(path: &str) -> Result<Tokenizer> {
        let c = cstring(path, "path")?;
        let mut raw = ptr::null_mut();
        check(unsafe { sys::llmkit_tokenizer_load(c.as_ptr(), &mut raw) })?;
        Ok(Tokenizer { raw })
    }
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<i32>> {
        let flags = if add_special { sys::LLMKIT_TOKENIZE_ADD_SPECIAL } else { 0 }
            | if parse_special { sys::LLMKIT_TOKENIZE_PARSE_SPECIAL } else { 0 };
        read_ids(|b, c, n| unsafe {
            sys::llmkit_tokenizer_encode(self.raw, text.as_ptr() as *const c_char, text.len(), flags, b, c, n)
        })
    }
    pub fn decode(&self, ids: &[i32], skip_special: bool) -> Result<String> {
        let flags = if skip_special { sys::LLMKIT_DECODE_SKIP_SPECIAL } else { 0 };
        read_text(|b, c, n| unsafe { sys::llmkit_tokenizer_decode(self.raw, ids.as_ptr(), ids.len(), flags, b, c, n) })
    }
    pub fn token_text(&self, token: i32) -> Result<String> {
        read_text(|b, c, n| unsafe { sys::llmkit_tokenizer_token_text(self.raw, token, b, c, n) })
    }
    pub fn n_vocab(&self) -> i32 {
        unsafe { sys::llmkit_tokenizer_n_vocab(self.raw) }
    }
    pub fn bos(&self) -> Option<i32> {
        self.special(sys::LLMKIT_TOKEN_BOS)
    }
    pub fn eos(&self) -> Option<i32> {
        self.special(sys::LLMKIT_TOKEN_EOS)
    }
    fn special(&self, which: i32) -> Option<i32> {
        let id = unsafe { sys::llmkit_tokenizer_special_id(self.raw, which) };
        (id >= 0).then_some(id)
    }
    pub fn is_end_of_generation(&self, token: i32) -> bool {
        unsafe { sys::llmkit_tokenizer_is_end_of_generation(self.raw, token) != 0 }
    }
}

// ---- options and results -------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub n_ctx: u32, // 0: min(training context, 4096)
    pub kv_type: KvType,
    pub n_threads: i32, // 0: all
    pub n_batch: u32,
}
impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions { n_ctx: 0, kv_type: KvType::F16, n_threads: 0, n_batch: 256 }
    }
}

/// Sampling options (defaults = the C library's defaults).
#[derive(Debug, Clone)]
pub struct SamplerOptions {
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    pub repeat_penalty: f32,
    pub penalty_last_n: i32,
    pub frequency_penalty: f32,
    pub presence_penalty: f32,
    pub seed: u64,
    pub logit_bias: Vec<(i32, f32)>,
}
impl Default for SamplerOptions {
    fn default() -> Self {
        let mut p: sys::llmkit_sampler_params = unsafe { std::mem::zeroed() };
        unsafe { sys::llmkit_sampler_params_init(&mut p) };
        SamplerOptions {
            temperature: p.temperature,
            top_k: p.top_k,
            top_p: p.top_p,
            min_p: p.min_p,
            repeat_penalty: p.repeat_penalty,
            penalty_last_n: p.penalty_last_n,
            frequency_penalty: p.frequency_penalty,
            presence_penalty: p.presence_penalty,
            seed: p.seed,
            logit_bias: Vec::new(),
        }
    }
}
impl SamplerOptions {
    pub fn greedy() -> Self {
        SamplerOptions { temperature: 0.0, ..Default::default() }
    }
}

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_new_tokens: i32, // < 0: until another stop condition
    pub stop_strings: Vec<String>,
    pub stop_tokens: Vec<i32>,
    pub stop_at_end_of_generation: bool,
    pub context_full_is_error: bool,
}
impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_new_tokens: 256,
            stop_strings: Vec::new(),
            stop_tokens: Vec::new(),
            stop_at_end_of_generation: true,
            context_full_is_error: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    MaxTokens,
    EndOfGeneration,
    StopToken,
    StopString,
    ContextFull,
    Cancelled,
}
impl FinishReason {
    fn from_raw(r: i32) -> FinishReason {
        match r {
            sys::LLMKIT_FINISH_MAX_TOKENS => FinishReason::MaxTokens,
            sys::LLMKIT_FINISH_END_OF_GENERATION => FinishReason::EndOfGeneration,
            sys::LLMKIT_FINISH_STOP_TOKEN => FinishReason::StopToken,
            sys::LLMKIT_FINISH_STOP_STRING => FinishReason::StopString,
            sys::LLMKIT_FINISH_CONTEXT_FULL => FinishReason::ContextFull,
            _ => FinishReason::Cancelled,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub n_prefill: i32,
    pub n_reused: i32,
    pub n_decode: i32,
    pub load_ms: f64,
    pub prefill_ms: f64,
    pub decode_ms: f64,
    pub ttft_ms: f64,
}
impl From<sys::llmkit_timings> for Timings {
    fn from(t: sys::llmkit_timings) -> Self {
        Timings {
            n_prefill: t.n_prefill,
            n_reused: t.n_reused,
            n_decode: t.n_decode,
            load_ms: t.load_ms,
            prefill_ms: t.prefill_ms,
            decode_ms: t.decode_ms,
            ttft_ms: t.ttft_ms,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Generation {
    pub text: String,
    pub tokens: Vec<i32>,
    pub finish_reason: FinishReason,
    pub timings: Timings,
}

/// One streamed piece: UTF-8-complete text and the token that produced it.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub text: String,
    pub token: i32,
}

/// What a generate call starts from.
#[derive(Debug, Clone)]
pub enum Prompt {
    Tokens(Vec<i32>),
    Text(String),
}
impl From<&[i32]> for Prompt {
    fn from(v: &[i32]) -> Self {
        Prompt::Tokens(v.to_vec())
    }
}
impl<const N: usize> From<&[i32; N]> for Prompt {
    fn from(v: &[i32; N]) -> Self {
        Prompt::Tokens(v.to_vec())
    }
}
impl From<Vec<i32>> for Prompt {
    fn from(v: Vec<i32>) -> Self {
        Prompt::Tokens(v)
    }
}
impl From<&str> for Prompt {
    fn from(s: &str) -> Self {
        Prompt::Text(s.to_string())
    }
}
impl From<String> for Prompt {
    fn from(s: String) -> Self {
        Prompt::Text(s)
    }
}

// ---- session -------------------------------------------------------------------------------------

struct SessionInner {
    raw: *mut sys::llmkit_session,
    // Set while a stream's worker thread is inside a call on RAW (guards against a leaked Stream).
    busy: std::sync::atomic::AtomicBool,
}
// SAFETY: the C session may move between threads (llmkit.h: "used by one thread at a time");
// SessionInner is shared (Arc) only with CancelHandle, which calls nothing but the thread-safe
// llmkit_session_cancel, and with a stream's worker thread while the Session is mutably borrowed.
unsafe impl Send for SessionInner {}
unsafe impl Sync for SessionInner {}
impl Drop for SessionInner {
    fn drop(&mut self) {
        // Last owner: no other thread can be inside a call on this session any more.
        unsafe { sys::llmkit_session_free(self.raw) }
    }
}

/// One conversation (KV cache). `Send`, not `Sync`: one thread at a time.
pub struct Session {
    inner: Arc<SessionInner>,
    // Cell<()> is Send + !Sync: the session moves between threads but is never shared.
    _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
}

/// Cancels the running (or the next) generation of a session from any thread.
#[derive(Clone)]
pub struct CancelHandle {
    inner: Arc<SessionInner>,
}
impl CancelHandle {
    pub fn cancel(&self) -> Result<()> {
        check(unsafe { sys::llmkit_session_cancel(self.inner.raw) })
    }
}

/// Holds the C parameter structs (and the memory they point to) for one call.
struct CallParams {
    sampler: sys::llmkit_sampler_params,
    gen: sys::llmkit_generate_params,
    _bias: Vec<sys::llmkit_logit_bias>,
    _stops: Vec<CString>,
    _stop_ptrs: Vec<*const c_char>,
    _stop_tokens: Vec<i32>,
}
// SAFETY: the raw pointers point into the owned vectors of this struct, moved together.
unsafe impl Send for CallParams {}

impl CallParams {
    fn new(s: &SamplerOptions, g: &GenerateOptions) -> Result<Box<CallParams>> {
        let mut sampler: sys::llmkit_sampler_params = unsafe { std::mem::zeroed() };
        unsafe { sys::llmkit_sampler_params_init(&mut sampler) };
        let mut gen: sys::llmkit_generate_params = unsafe { std::mem::zeroed() };
        unsafe { sys::llmkit_generate_params_init(&mut gen) };
        let mut p = Box::new(CallParams {
            sampler,
            gen,
            _bias: s.logit_bias.iter().map(|&(token, bias)| sys::llmkit_logit_bias { token, bias }).collect(),
            _stops: g.stop_strings.iter().map(|x| cstring(x, "stop string")).collect::<Result<_>>()?,
            _stop_ptrs: Vec::new(),
            _stop_tokens: g.stop_tokens.clone(),
        });
        p._stop_ptrs = p._stops.iter().map(|c| c.as_ptr()).collect();
        let sp = &mut p.sampler;
        sp.temperature = s.temperature;
        sp.top_k = s.top_k;
        sp.top_p = s.top_p;
        sp.min_p = s.min_p;
        sp.repeat_penalty = s.repeat_penalty;
        sp.penalty_last_n = s.penalty_last_n;
        sp.frequency_penalty = s.frequency_penalty;
        sp.presence_penalty = s.presence_penalty;
        sp.seed = s.seed;
        sp.logit_bias = p._bias.as_ptr();
        sp.n_logit_bias = p._bias.len();
        let gp = &mut p.gen;
        gp.max_new_tokens = g.max_new_tokens;
        gp.stop_strings = p._stop_ptrs.as_ptr();
        gp.n_stop_strings = p._stop_ptrs.len();
        gp.stop_tokens = p._stop_tokens.as_ptr();
        gp.n_stop_tokens = p._stop_tokens.len();
        gp.stop_at_end_of_generation = g.stop_at_end_of_generation as i32;
        gp.context_full_is_error = g.context_full_is_error as i32;
        Ok(p)
    }
}

type ChunkFn<'a> = dyn FnMut(&str, i32) -> bool + 'a;

unsafe extern "C" fn token_trampoline(text: *const c_char, len: usize, token: i32, ud: *mut c_void) -> c_int {
    let f = &mut *(ud as *mut &mut ChunkFn);
    let bytes = std::slice::from_raw_parts(text as *const u8, len);
    let s = String::from_utf8_lossy(bytes);
    match catch_unwind(AssertUnwindSafe(|| f(&s, token))) {
        Ok(true) => 1,
        _ => 0, // false or a panic: stop the generation
    }
}

/// Runs one generate call on RAW, streaming through ON_CHUNK.
fn generate_raw(
    raw: *mut sys::llmkit_session,
    prompt: &Prompt,
    params: &CallParams,
    on_chunk: &mut ChunkFn,
) -> Result<Generation> {
    let mut result = sys::llmkit_generation_result {
        struct_size: std::mem::size_of::<sys::llmkit_generation_result>() as u32,
        ..Default::default()
    };
    let mut f: &mut ChunkFn = on_chunk;
    let ud = &mut f as *mut &mut ChunkFn as *mut c_void;
    let status = match prompt {
        Prompt::Tokens(ids) => unsafe {
            sys::llmkit_session_generate(raw, ids.as_ptr(), ids.len(), &params.sampler, &params.gen, Some(token_trampoline), ud, &mut result)
        },
        Prompt::Text(t) => {
            let c = cstring(t, "prompt")?;
            unsafe {
                sys::llmkit_session_generate_text(raw, c.as_ptr(), &params.sampler, &params.gen, Some(token_trampoline), ud, &mut result)
            }
        }
    };
    check(status)?;
    let text = read_text(|b, c, n| unsafe { sys::llmkit_session_last_text(raw, b, c, n) })?;
    let tokens = read_ids(|b, c, n| unsafe { sys::llmkit_session_last_tokens(raw, b, c, n) })?;
    Ok(Generation { text, tokens, finish_reason: FinishReason::from_raw(result.finish_reason), timings: result.timings.into() })
}

impl Session {
    fn raw(&self) -> *mut sys::llmkit_session {
        self.inner.raw
    }
    fn idle(&self) -> Result<*mut sys::llmkit_session> {
        if self.inner.busy.load(std::sync::atomic::Ordering::Acquire) {
            return Err(invalid("the session is busy with a streaming generation"));
        }
        Ok(self.inner.raw)
    }

    /// A handle that may cancel this session's generation from any thread.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle { inner: Arc::clone(&self.inner) }
    }

    /// Appends TOKENS to the context and runs them through the model.
    pub fn evaluate(&mut self, tokens: &[i32]) -> Result<()> {
        check(unsafe { sys::llmkit_session_evaluate(self.idle()?, tokens.as_ptr(), tokens.len()) })
    }

    /// Next-token logits after the last evaluated token (a copy).
    pub fn logits(&self) -> Result<Vec<f32>> {
        let mut n = 0usize;
        let p = unsafe { sys::llmkit_session_logits(self.idle()?, &mut n) };
        if p.is_null() {
            return Err(last_error(sys::LLMKIT_ERR_NOT_FOUND));
        }
        Ok(unsafe { std::slice::from_raw_parts(p, n) }.to_vec())
    }

    pub fn tokens(&self) -> Result<Vec<i32>> {
        let raw = self.idle()?;
        read_ids(|b, c, n| unsafe { sys::llmkit_session_get_tokens(raw, b, c, n) })
    }
    pub fn n_ctx(&self) -> u32 {
        unsafe { sys::llmkit_session_n_ctx(self.raw()) }
    }
    pub fn reset(&mut self) -> Result<()> {
        check(unsafe { sys::llmkit_session_reset(self.idle()?) })
    }
    pub fn truncate(&mut self, n_keep: usize) -> Result<()> {
        check(unsafe { sys::llmkit_session_truncate(self.idle()?, n_keep) })
    }
    pub fn last_timings(&self) -> Result<Timings> {
        let mut t = sys::llmkit_timings { struct_size: std::mem::size_of::<sys::llmkit_timings>() as u32, ..Default::default() };
        check(unsafe { sys::llmkit_session_last_timings(self.idle()?, &mut t) })?;
        Ok(t.into())
    }

    /// Generates, calling ON_CHUNK with each UTF-8-complete chunk on this thread; return false
    /// from it to stop (FinishReason::Cancelled).
    pub fn generate_with(
        &mut self,
        prompt: impl Into<Prompt>,
        sampler: &SamplerOptions,
        options: &GenerateOptions,
        mut on_chunk: impl FnMut(&str, i32) -> bool,
    ) -> Result<Generation> {
        let params = CallParams::new(sampler, options)?;
        generate_raw(self.idle()?, &prompt.into(), &params, &mut on_chunk)
    }

    /// Generates to the end and returns the result.
    pub fn generate(&mut self, prompt: impl Into<Prompt>, sampler: &SamplerOptions, options: &GenerateOptions) -> Result<Generation> {
        self.generate_with(prompt, sampler, options, |_, _| true)
    }

    /// A streaming iterator over the chunks of one generation. The C call runs on a worker thread
    /// (the session is mutably borrowed meanwhile); dropping the iterator stops the generation and
    /// joins the worker. The last item is an `Err` if the call failed. `finish()` gives the result.
    pub fn stream(&mut self, prompt: impl Into<Prompt>, sampler: &SamplerOptions, options: &GenerateOptions) -> Result<Stream<'_>> {
        self.idle()?;
        let params = CallParams::new(sampler, options)?;
        let prompt = prompt.into();
        self.inner.busy.store(true, std::sync::atomic::Ordering::Release);
        let (tx, rx) = mpsc::channel::<Chunk>();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let inner = Arc::clone(&self.inner);
        let stop_w = Arc::clone(&stop);
        let result: Arc<Mutex<Option<Result<Generation>>>> = Arc::new(Mutex::new(None));
        let result_w = Arc::clone(&result);
        let worker = thread::spawn(move || {
            let mut cb = |text: &str, token: i32| -> bool {
                let _ = tx.send(Chunk { text: text.to_string(), token });
                !stop_w.load(std::sync::atomic::Ordering::Relaxed)
            };
            let r = generate_raw(inner.raw, &prompt, &params, &mut cb);
            *result_w.lock().unwrap() = Some(r);
            inner.busy.store(false, std::sync::atomic::Ordering::Release);
        });
        Ok(Stream { _session: self, rx, stop, result, worker: Some(worker), done: false })
    }
}

/// Iterator returned by [`Session::stream`].
pub struct Stream<'a> {
    _session: &'a mut Session,
    rx: mpsc::Receiver<Chunk>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    result: Arc<Mutex<Option<Result<Generation>>>>,
    worker: Option<thread::JoinHandle<()>>,
    done: bool,
}

impl<'a> Stream<'a> {
    fn join(&mut self) {
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
    /// Consumes the rest of the stream and returns the generation's result.
    pub fn finish(mut self) -> Result<Generation> {
        while self.rx.recv().is_ok() {}
        self.join();
        let r = self.result.lock().unwrap().take();
        r.unwrap_or_else(|| Err(invalid("the generation produced no result")))
    }
}

impl<'a> Iterator for Stream<'a> {
    type Item = Result<Chunk>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(c) => Some(Ok(c)),
            Err(_) => {
                // Channel closed: the worker finished. Surface an error once.
                self.done = true;
                self.join();
                let guard = self.result.lock().unwrap();
                match guard.as_ref() {
                    Some(Err(e)) => Some(Err(e.clone())),
                    _ => None,
                }
            }
        }
    }
}

impl<'a> Drop for Stream<'a> {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // Drain so the worker never blocks (the channel is unbounded; this just speeds up the end).
        while self.rx.try_recv().is_ok() {}
        self.join();
    }
}
