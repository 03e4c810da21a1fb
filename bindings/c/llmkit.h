/*
 * llmkit.h — the stable C ABI of llmkit (run open-weight LLMs locally on the CPU).
 *
 * This header is plain C99 and C++ (no C++ types leak); it is the only header users of
 * libllmkit.so need. Every exported symbol is declared here with LLMKIT_API; everything else in the
 * library is hidden. The ABI policy (what may change and how the soname moves) is in docs/ABI.md;
 * tools/abi_check.sh compares the built library against bindings/c/abi/libllmkit.abi.
 *
 * Conventions (apply to every function unless its comment says otherwise):
 *  - Naming: llmkit_<object>_<verb>. Objects are opaque handles created by a *_create or *_load
 *    function and released by the matching *_free. *_free(NULL) is a no-op.
 *  - Errors: fallible functions return llmkit_status (0 = LLMKIT_OK, negative = error). On failure
 *    llmkit_last_error() returns a message for this thread; on success the message is cleared to
 *    "". No C++ exception ever crosses this boundary; no function aborts or exits the process.
 *  - Handles are validated: a NULL handle, or one that was already freed (while its memory has not
 *    been reused by a new handle), gives LLMKIT_ERR_INVALID_ARGUMENT instead of a crash.
 *  - Strings are UTF-8. Input strings are `const char*` + explicit byte length where embedded NULs
 *    matter, else NUL-terminated. Invalid UTF-8 in text inputs is an error
 *    (LLMKIT_ERR_INVALID_ARGUMENT) naming the byte offset.
 *  - Output buffers use the two-call pattern: pass buf = NULL and capacity = 0 to learn the
 *    required size (*out_len, returns LLMKIT_OK), then call again with a big enough buffer. A
 *    non-NULL buffer that is too small gives LLMKIT_ERR_BUFFER_TOO_SMALL with *out_len set to the
 *    required size and nothing written. Text outputs are NUL-terminated: the capacity must be at
 *    least *out_len + 1 bytes (*out_len excludes the NUL).
 *  - Parameter structs start with `uint32_t struct_size` = sizeof(the struct as the caller compiled
 *    it); initialise them with the matching *_params_init(). The library reads only the first
 *    struct_size bytes and uses defaults for fields a smaller (older) struct lacks; fields are only
 *    ever appended, so a field is read only when it lies entirely within struct_size. A
 *    struct_size below 4, or one larger than the library knows whose extra bytes are not all zero
 *    (a newer caller asking for something this library cannot do), is
 *    LLMKIT_ERR_INVALID_ARGUMENT. Output structs with struct_size are filled up to
 *    min(struct_size, library's size).
 *  - Thread-safety: functions on different handles may run concurrently. A llmkit_model and a
 *    llmkit_tokenizer are immutable after creation and may be used from any number of threads at
 *    once. A llmkit_session is used by one thread at a time, except llmkit_session_cancel(), which
 *    any thread may call at any time. Callbacks run on the thread that made the call.
 */
#ifndef LLMKIT_H
#define LLMKIT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(LLMKIT_BUILDING_LIBRARY)
#define LLMKIT_API __declspec(dllexport)
#else
#define LLMKIT_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define LLMKIT_API __attribute__((visibility("default")))
#else
#define LLMKIT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Version. The macros describe the header you compiled against; the functions describe the
 * library loaded at run time. Same major version = ABI compatible (see docs/ABI.md).
 * --------------------------------------------------------------------------------------------- */
#ifndef LLMKIT_VERSION_MAJOR
#define LLMKIT_VERSION_MAJOR 0
#define LLMKIT_VERSION_MINOR 1
#define LLMKIT_VERSION_PATCH 0
#define LLMKIT_VERSION_STRING "0.1.0"
#define LLMKIT_VERSION_NUMBER \
  (LLMKIT_VERSION_MAJOR * 10000 + LLMKIT_VERSION_MINOR * 100 + LLMKIT_VERSION_PATCH)
#endif
/* Bumped together with the soname on any incompatible change. */
#define LLMKIT_ABI_VERSION 0

/* MAJOR * 10000 + MINOR * 100 + PATCH of the loaded library. Thread-safe, never fails. */
LLMKIT_API int32_t llmkit_version_number(void);
/* "MAJOR.MINOR.PATCH" of the loaded library: static storage, never NULL. */
LLMKIT_API const char* llmkit_version_string(void);

/* ------------------------------------------------------------------------------------------------
 * Status codes and errors. Values mirror llmkit::StatusCode negated; never renumbered, only
 * appended. Codes <= -100 exist only in the C ABI.
 * --------------------------------------------------------------------------------------------- */
typedef enum llmkit_status {
  LLMKIT_OK = 0,
  LLMKIT_ERR_INVALID_ARGUMENT = -1,     /* NULL/freed handle, bad option, bad id, invalid UTF-8 */
  LLMKIT_ERR_NOT_FOUND = -2,            /* file, key or token that does not exist */
  LLMKIT_ERR_IO = -3,                   /* open/read/mmap failed */
  LLMKIT_ERR_CORRUPT_FILE = -4,         /* a file contradicts its own structure */
  LLMKIT_ERR_UNSUPPORTED = -5,          /* well-formed but unsupported (architecture, dtype, ...) */
  LLMKIT_ERR_OUT_OF_MEMORY = -6,        /* allocation failed */
  LLMKIT_ERR_OUT_OF_RANGE = -7,         /* e.g. the context window is full */
  LLMKIT_ERR_CANCELLED = -8,            /* cancel request or a callback stopped the operation */
  LLMKIT_ERR_INTERNAL = -9,             /* a bug in llmkit: please report it */
  LLMKIT_ERR_NETWORK_UNAVAILABLE = -10, /* a download was needed and there is no network */
  LLMKIT_ERR_BUFFER_TOO_SMALL = -100    /* two-call pattern: *out_len holds the required size */
} llmkit_status;

/* Stable name of a status, e.g. "LLMKIT_ERR_NOT_FOUND"; "LLMKIT_ERR_UNKNOWN" for other values.
 * Static storage, never NULL, thread-safe. */
LLMKIT_API const char* llmkit_status_str(llmkit_status status);

/* Message of the most recent failed call on the calling thread ("" after a successful call and
 * before any call). Library-owned, thread-local, valid until the next llmkit call on this thread;
 * copy it if you need it longer. Never NULL. */
LLMKIT_API const char* llmkit_last_error(void);

/* ------------------------------------------------------------------------------------------------
 * Logging. One process-wide callback (thread-safe to set at any time). The library reports errors
 * it returns (LLMKIT_LOG_ERROR), warnings, and informational events such as model loads. The
 * callback may be called from any thread that calls into llmkit, concurrently: make it
 * thread-safe. MESSAGE is valid only during the call. Pass NULL to disable (the default).
 * --------------------------------------------------------------------------------------------- */
typedef enum llmkit_log_level {
  LLMKIT_LOG_DEBUG = 0,
  LLMKIT_LOG_INFO = 1,
  LLMKIT_LOG_WARN = 2,
  LLMKIT_LOG_ERROR = 3
} llmkit_log_level;

typedef void (*llmkit_log_callback)(llmkit_log_level level, const char* message, void* user_data);
/* Messages below MIN_LEVEL are not delivered. */
LLMKIT_API void llmkit_set_log_callback(llmkit_log_callback callback, void* user_data,
                                        llmkit_log_level min_level);

/* ------------------------------------------------------------------------------------------------
 * Opaque handles.
 * --------------------------------------------------------------------------------------------- */
typedef struct llmkit_model llmkit_model;         /* immutable loaded model (thread-safe) */
typedef struct llmkit_tokenizer llmkit_tokenizer; /* immutable tokenizer (thread-safe) */
typedef struct llmkit_session llmkit_session;     /* one conversation: KV cache (one thread) */

/* ------------------------------------------------------------------------------------------------
 * Model.
 * --------------------------------------------------------------------------------------------- */

/* Called during loading with FRACTION in [0, 1] (non-decreasing; 1 at the end). Return nonzero to
 * continue, 0 to cancel the load (it then fails with LLMKIT_ERR_CANCELLED). */
typedef int (*llmkit_progress_callback)(float fraction, void* user_data);

typedef enum llmkit_backend {
  LLMKIT_BACKEND_FAST = 0,     /* repacked weights + optimized kernels */
  LLMKIT_BACKEND_REFERENCE = 1 /* portable scalar kernels (slow; parity tests) */
} llmkit_backend;

typedef struct llmkit_model_params {
  uint32_t struct_size; /* sizeof(llmkit_model_params) */
  int32_t backend;      /* llmkit_backend; default LLMKIT_BACKEND_FAST */
  int32_t n_threads;    /* threads used while packing weights; 0 (default): all */
  int32_t use_mmap;     /* nonzero (default): map the file; 0: read it into memory */
  llmkit_progress_callback progress_callback; /* may be NULL (default) */
  void* progress_user_data;
  /* Directory of the on-disk cache of repacked weights (GGUF, fast backend); NULL or "" (default):
   * none. The first load writes <dir>/<file>-<hash>.llmkpack (about the GGUF's size), later loads
   * map it instead of repacking (fast reloads; stale or damaged files are ignored and rewritten,
   * write failures only noted). What happened: llmkit_model_get_string(LLMKIT_MODEL_REPACK_CACHE).
   * The string is copied during the call. */
  const char* repack_cache_dir;
} llmkit_model_params;

/* Fills the first SIZE bytes of *PARAMS with the defaults (whole fields only) and sets
 * struct_size to the bytes filled. Pass SIZE = sizeof(llmkit_model_params) as the caller compiled
 * it, so a library newer than the caller's header never writes past the caller's struct. No-op on
 * NULL or when SIZE < 4. */
LLMKIT_API void llmkit_model_params_init_sized(llmkit_model_params* params, size_t size);
/* The 0.1.0 entry point, kept for binaries built against it: fills only the fields 0.1.0 had
 * (struct_size .. progress_user_data). Source code calling llmkit_model_params_init(p) gets the
 * sized variant through the macro below. */
LLMKIT_API void llmkit_model_params_init(llmkit_model_params* params);
#define llmkit_model_params_init(params) llmkit_model_params_init_sized((params), sizeof(*(params)))

/* Loads PATH: a GGUF file (first split of a split model) or a Hugging Face folder (config.json,
 * *.safetensors, tokenizer files). PARAMS may be NULL (defaults). On success *OUT_MODEL owns the
 * model: release it with llmkit_model_free (sessions and tokenizers created from it keep it alive
 * internally, so it may be freed before them). On failure *OUT_MODEL is set to NULL.
 * Errors: INVALID_ARGUMENT (NULL path/out), NOT_FOUND/IO (file), CORRUPT_FILE, UNSUPPORTED
 * (architecture), OUT_OF_MEMORY, CANCELLED (progress callback returned 0). */
LLMKIT_API llmkit_status llmkit_model_load(const char* path, const llmkit_model_params* params,
                                           llmkit_model** out_model);
/* Releases the caller's reference. NULL is a no-op; a handle already freed is detected where
 * possible (last error set, LLMKIT_LOG_ERROR logged) and otherwise ignored. Must not run
 * concurrently with other calls on the same handle. */
LLMKIT_API void llmkit_model_free(llmkit_model* model);

/* Sizes of a loaded model. Output struct: set struct_size before the call. */
typedef struct llmkit_model_info {
  uint32_t struct_size;
  uint32_t n_vocab;
  uint32_t n_embd;
  uint32_t n_layer;
  uint32_t n_head;
  uint32_t n_head_kv;
  uint32_t head_dim;
  uint32_t n_ff;
  uint32_t n_ctx_train; /* context length the model was trained for */
  uint64_t n_params;
  double load_ms; /* wall time of llmkit_model_load */
} llmkit_model_info;

LLMKIT_API llmkit_status llmkit_model_get_info(const llmkit_model* model, llmkit_model_info* out);

/* Well-known metadata strings (two-call pattern; "" when the model has no such value):
 * architecture ("llama", "qwen2", ...), display name, license, the raw chat template (NOT_FOUND if
 * the model has none), file type (e.g. "Q4_1"), format ("gguf" or "safetensors"), path. */
typedef enum llmkit_model_string {
  LLMKIT_MODEL_ARCHITECTURE = 0,
  LLMKIT_MODEL_NAME = 1,
  LLMKIT_MODEL_LICENSE = 2,
  LLMKIT_MODEL_CHAT_TEMPLATE = 3,
  LLMKIT_MODEL_FILE_TYPE = 4,
  LLMKIT_MODEL_FORMAT = 5,
  LLMKIT_MODEL_PATH = 6,
  LLMKIT_MODEL_REPACK_CACHE = 7 /* what the repack cache did at load ("" when none was set) */
} llmkit_model_string;

LLMKIT_API llmkit_status llmkit_model_get_string(const llmkit_model* model,
                                                 llmkit_model_string which, char* buf,
                                                 size_t capacity, size_t* out_len);

/* Any metadata value by key, rendered as text (two-call pattern). GGUF: any key of the file
 * (e.g. "general.architecture", "llama.context_length"); integers and floats in decimal, bools as
 * "true"/"false", arrays as a JSON-like list abbreviated after 8 items. HF folders: the keys of
 * config.json's scalar values (e.g. "hidden_size"). NOT_FOUND when the key is absent. */
LLMKIT_API llmkit_status llmkit_model_get_meta(const llmkit_model* model, const char* key,
                                               char* buf, size_t capacity, size_t* out_len);

typedef enum llmkit_kv_type {
  LLMKIT_KV_F32 = 0,
  LLMKIT_KV_F16 = 1,
  LLMKIT_KV_BF16 = 2
} llmkit_kv_type;

/* Memory needed to run the model with a context of N_CTX tokens. Output struct. */
typedef struct llmkit_memory_estimate {
  uint32_t struct_size;
  uint32_t n_ctx;
  uint64_t weights_bytes;
  uint64_t kv_cache_bytes; /* 2 * n_layer * n_ctx * n_head_kv * head_dim * sizeof(kv type) */
  uint64_t scratch_bytes;  /* activations for a 512-token prompt batch + logits */
  uint64_t total_bytes;
} llmkit_memory_estimate;

/* N_CTX 0: the model's training context capped at 4096 (the session default). */
LLMKIT_API llmkit_status llmkit_model_estimate_memory(const llmkit_model* model, uint32_t n_ctx,
                                                      llmkit_kv_type kv_type,
                                                      llmkit_memory_estimate* out);

/* ------------------------------------------------------------------------------------------------
 * Chat formatting.
 * --------------------------------------------------------------------------------------------- */

/* One message. This struct is frozen (it is used in arrays): it will never grow. */
typedef struct llmkit_chat_message {
  const char* role;    /* "system", "user" or "assistant" (NUL-terminated UTF-8) */
  const char* content; /* NUL-terminated UTF-8 */
} llmkit_chat_message;

/* Renders MESSAGES[0..N_MESSAGES) in the model's chat format (two-call pattern). With
 * ADD_GENERATION_PROMPT nonzero, the text ends with the header of an assistant turn. The text
 * contains special-token markup and no BOS: tokenize it with LLMKIT_TOKENIZE_ADD_SPECIAL |
 * LLMKIT_TOKENIZE_PARSE_SPECIAL. Errors: UNSUPPORTED when the model's template is not recognised,
 * INVALID_ARGUMENT for NULL role/content or invalid UTF-8. */
LLMKIT_API llmkit_status llmkit_model_apply_chat_template(const llmkit_model* model,
                                                          const llmkit_chat_message* messages,
                                                          size_t n_messages,
                                                          int add_generation_prompt, char* buf,
                                                          size_t capacity, size_t* out_len);

/* ------------------------------------------------------------------------------------------------
 * Tokenizer.
 * --------------------------------------------------------------------------------------------- */

/* A new handle on MODEL's tokenizer. It keeps the model's data alive (the model handle may be
 * freed first). Release with llmkit_tokenizer_free. NOT_FOUND when the model carries none. */
LLMKIT_API llmkit_status llmkit_tokenizer_from_model(const llmkit_model* model,
                                                     llmkit_tokenizer** out_tokenizer);
/* Loads only a tokenizer: a GGUF file (its vocabulary), a tokenizer.json, a SentencePiece
 * tokenizer.model, or an HF folder containing one of them. */
LLMKIT_API llmkit_status llmkit_tokenizer_load(const char* path, llmkit_tokenizer** out_tokenizer);
/* NULL is a no-op; double free is detected where possible (see llmkit_model_free). */
LLMKIT_API void llmkit_tokenizer_free(llmkit_tokenizer* tokenizer);

/* Flags for llmkit_tokenizer_encode. */
#define LLMKIT_TOKENIZE_ADD_SPECIAL 1u   /* add BOS/EOS as the tokenizer's settings say */
#define LLMKIT_TOKENIZE_PARSE_SPECIAL 2u /* turn special-token text ("<|im_start|>") into its id \
                                          */
/* Flags for llmkit_tokenizer_decode. */
#define LLMKIT_DECODE_SKIP_SPECIAL 1u /* leave out control/special tokens */
/* SentencePiece-style tokenizers drop one leading space when decoding (Hugging Face semantics);
 * set this when the ids continue earlier text and the space must be kept. */
#define LLMKIT_DECODE_KEEP_LEADING_SPACE 2u

/* Encodes TEXT[0..TEXT_LEN) (UTF-8) into token ids (two-call pattern on TOKENS/CAPACITY, counted in
 * tokens). TEXT may be NULL only when TEXT_LEN is 0. Special-token text such as "<|im_start|>" is
 * ordinary text unless LLMKIT_TOKENIZE_PARSE_SPECIAL is set (prompt-injection safeguard).
 * Errors: INVALID_ARGUMENT for invalid UTF-8 (naming the byte offset) or unknown flags. */
LLMKIT_API llmkit_status llmkit_tokenizer_encode(const llmkit_tokenizer* tokenizer,
                                                 const char* text, size_t text_len, uint32_t flags,
                                                 int32_t* tokens, size_t capacity,
                                                 size_t* out_n_tokens);
/* Decodes TOKENS[0..N_TOKENS) into UTF-8 text (two-call pattern; NUL-terminated). Bytes that do not
 * form complete UTF-8 characters come out as U+FFFD. Errors: INVALID_ARGUMENT for an id outside
 * [0, n_vocab) or unknown flags. */
LLMKIT_API llmkit_status llmkit_tokenizer_decode(const llmkit_tokenizer* tokenizer,
                                                 const int32_t* tokens, size_t n_tokens,
                                                 uint32_t flags, char* buf, size_t capacity,
                                                 size_t* out_len);
/* The vocabulary entry of TOKEN as stored in the model (e.g. "\xe2\x96\x81the", "<0x0A>",
 * "<|im_end|>"), two-call pattern. INVALID_ARGUMENT for an id outside [0, n_vocab). */
LLMKIT_API llmkit_status llmkit_tokenizer_token_text(const llmkit_tokenizer* tokenizer,
                                                     int32_t token, char* buf, size_t capacity,
                                                     size_t* out_len);
/* Vocabulary size (0 for a NULL/invalid handle). */
LLMKIT_API int32_t llmkit_tokenizer_n_vocab(const llmkit_tokenizer* tokenizer);

typedef enum llmkit_special_token {
  LLMKIT_TOKEN_BOS = 0,
  LLMKIT_TOKEN_EOS = 1,
  LLMKIT_TOKEN_EOT = 2, /* end of turn (e.g. <|im_end|>, <end_of_turn>) */
  LLMKIT_TOKEN_PAD = 3,
  LLMKIT_TOKEN_UNK = 4
} llmkit_special_token;

/* The id of a special token, or -1 when the tokenizer has none (or on a NULL/invalid handle). */
LLMKIT_API int32_t llmkit_tokenizer_special_id(const llmkit_tokenizer* tokenizer,
                                               llmkit_special_token which);
/* 1 if TOKEN ends a generation (EOS, EOT and the like), else 0. */
LLMKIT_API int llmkit_tokenizer_is_end_of_generation(const llmkit_tokenizer* tokenizer,
                                                     int32_t token);

/* ------------------------------------------------------------------------------------------------
 * Session: KV cache + generation.
 * --------------------------------------------------------------------------------------------- */

typedef struct llmkit_session_params {
  uint32_t struct_size; /* sizeof(llmkit_session_params) */
  uint32_t n_ctx;       /* tokens the cache holds; 0 (default): min(training context, 4096) */
  int32_t kv_type;      /* llmkit_kv_type; default LLMKIT_KV_F16 */
  int32_t n_threads;    /* worker threads; 0 (default): all hardware threads */
  uint32_t n_batch;     /* prompt tokens per forward pass; default 256 */
} llmkit_session_params;

LLMKIT_API void llmkit_session_params_init(llmkit_session_params* params);

/* A new session on MODEL (PARAMS may be NULL). The session keeps the model alive. */
LLMKIT_API llmkit_status llmkit_session_create(const llmkit_model* model,
                                               const llmkit_session_params* params,
                                               llmkit_session** out_session);
/* NULL is a no-op; double free is detected where possible. Must not run concurrently with any
 * other call on SESSION, llmkit_session_cancel included. */
LLMKIT_API void llmkit_session_free(llmkit_session* session);

/* Appends TOKENS to the context and runs them through the model. Afterwards
 * llmkit_session_logits() gives the next-token logits. On error the context is unchanged.
 * Errors: INVALID_ARGUMENT (bad id), OUT_OF_RANGE (would not fit n_ctx), CANCELLED. */
LLMKIT_API llmkit_status llmkit_session_evaluate(llmkit_session* session, const int32_t* tokens,
                                                 size_t n_tokens);

/* Next-token logits after the last evaluated token: n_vocab floats owned by the session, valid
 * until the next call that changes the session (evaluate, generate, reset, truncate, free). Returns
 * NULL (and *OUT_N = 0) before the first evaluation or after reset/truncate. OUT_N may be NULL. */
LLMKIT_API const float* llmkit_session_logits(const llmkit_session* session, size_t* out_n);

/* Tokens in the context, in order (two-call pattern, counted in tokens). */
LLMKIT_API llmkit_status llmkit_session_get_tokens(const llmkit_session* session, int32_t* tokens,
                                                   size_t capacity, size_t* out_n_tokens);
/* Capacity of the context in tokens (0 for a NULL/invalid handle). */
LLMKIT_API uint32_t llmkit_session_n_ctx(const llmkit_session* session);

/* Empties the context (keeps the memory). */
LLMKIT_API llmkit_status llmkit_session_reset(llmkit_session* session);
/* Keeps the first N_KEEP tokens (prefix reuse: a later prompt sharing them only computes the
 * rest). OUT_OF_RANGE when N_KEEP exceeds the number of tokens. */
LLMKIT_API llmkit_status llmkit_session_truncate(llmkit_session* session, size_t n_keep);

/* Requests that the running (or, if none is running, the next) evaluate/generate on SESSION stop
 * within one token; it then returns LLMKIT_ERR_CANCELLED (evaluate) or finishes with
 * LLMKIT_FINISH_CANCELLED (generate). The request is consumed by that call. Thread-safe: the only
 * session function that may be called from another thread while the session is in use. */
LLMKIT_API llmkit_status llmkit_session_cancel(llmkit_session* session);

/* Sampling. Chain (llama.cpp's order): logit bias -> penalties -> greedy if temperature <= 0 ->
 * top-k -> top-p -> min-p -> temperature -> draw with a private RNG seeded by SEED. */
typedef struct llmkit_logit_bias { /* frozen (used in arrays) */
  int32_t token;
  float bias;
} llmkit_logit_bias;

typedef struct llmkit_sampler_params {
  uint32_t struct_size;                /* sizeof(llmkit_sampler_params) */
  float temperature;                   /* default 0.8; <= 0: greedy */
  int32_t top_k;                       /* default 40; <= 0: disabled */
  float top_p;                         /* default 0.95; >= 1: disabled */
  float min_p;                         /* default 0.05; <= 0: disabled */
  float repeat_penalty;                /* default 1 (disabled) */
  int32_t penalty_last_n;              /* default 64; -1: whole history */
  float frequency_penalty;             /* default 0 */
  float presence_penalty;              /* default 0 */
  uint64_t seed;                       /* default 0 */
  const llmkit_logit_bias* logit_bias; /* may be NULL; read during the call only */
  size_t n_logit_bias;
} llmkit_sampler_params;

LLMKIT_API void llmkit_sampler_params_init(llmkit_sampler_params* params);

typedef struct llmkit_generate_params {
  uint32_t struct_size;            /* sizeof(llmkit_generate_params) */
  int32_t max_new_tokens;          /* default 256; < 0: until another stop condition */
  const char* const* stop_strings; /* NUL-terminated UTF-8; may be NULL; read during the call */
  size_t n_stop_strings;
  const int32_t* stop_tokens; /* extra stop ids; may be NULL */
  size_t n_stop_tokens;
  int32_t stop_at_end_of_generation; /* default 1 */
  int32_t context_full_is_error;     /* default 0: a full context finishes with CONTEXT_FULL */
} llmkit_generate_params;

LLMKIT_API void llmkit_generate_params_init(llmkit_generate_params* params);

typedef enum llmkit_finish_reason {
  LLMKIT_FINISH_MAX_TOKENS = 0,
  LLMKIT_FINISH_END_OF_GENERATION = 1,
  LLMKIT_FINISH_STOP_TOKEN = 2,
  LLMKIT_FINISH_STOP_STRING = 3,
  LLMKIT_FINISH_CONTEXT_FULL = 4,
  LLMKIT_FINISH_CANCELLED = 5
} llmkit_finish_reason;

/* Per-call timings (output struct). */
typedef struct llmkit_timings {
  uint32_t struct_size;
  int32_t n_prefill; /* prompt tokens evaluated (after prefix reuse) */
  int32_t n_reused;  /* prompt tokens found in the cache */
  int32_t n_decode;  /* generated tokens */
  double load_ms;    /* the model's load time */
  double prefill_ms;
  double decode_ms;
  double ttft_ms; /* call start -> first generated token */
} llmkit_timings;

/* Result of a generate call (output struct). The text itself is streamed through the callback and
 * kept until the next generate: llmkit_session_last_text(). */
typedef struct llmkit_generation_result {
  uint32_t struct_size;
  int32_t finish_reason; /* llmkit_finish_reason */
  int32_t n_tokens;      /* generated ids (including a final end-of-generation/stop token) */
  uint32_t reserved;
  llmkit_timings timings; /* frozen layout inside this struct; its struct_size is set */
} llmkit_generation_result;

/* Streaming: called with each new UTF-8-complete chunk of text (TEXT is NUL-terminated, LEN
 * excludes the NUL; LEN may be 0 when a token completes no character yet) and the token id that
 * produced it. TEXT is valid only during the call. Return nonzero to continue, 0 to stop (the
 * generation finishes with LLMKIT_FINISH_CANCELLED). Runs on the calling thread; it must not call
 * functions on the same session other than llmkit_session_cancel. */
typedef int (*llmkit_token_callback)(const char* text, size_t len, int32_t token, void* user_data);

/* Makes the context equal PROMPT (reusing the longest cached prefix, so re-sending a growing
 * conversation only computes the new part), then samples up to max_new_tokens, streaming through
 * CALLBACK (may be NULL). N_PROMPT 0 continues from the current context (which must not be
 * empty). SAMPLER/GEN/OUT_RESULT may be NULL (defaults; no result). Generated tokens stay in the
 * context. Errors: INVALID_ARGUMENT, OUT_OF_RANGE (prompt does not fit), CANCELLED only for a
 * cancel during prompt processing (a cancel while decoding finishes with LLMKIT_FINISH_CANCELLED
 * and LLMKIT_OK). */
LLMKIT_API llmkit_status llmkit_session_generate(llmkit_session* session, const int32_t* prompt,
                                                 size_t n_prompt,
                                                 const llmkit_sampler_params* sampler,
                                                 const llmkit_generate_params* gen,
                                                 llmkit_token_callback callback, void* user_data,
                                                 llmkit_generation_result* out_result);
/* Same, with a text prompt (NUL-terminated UTF-8): tokenized with the tokenizer's BOS setting and
 * special tokens parsed. */
LLMKIT_API llmkit_status llmkit_session_generate_text(llmkit_session* session, const char* prompt,
                                                      const llmkit_sampler_params* sampler,
                                                      const llmkit_generate_params* gen,
                                                      llmkit_token_callback callback,
                                                      void* user_data,
                                                      llmkit_generation_result* out_result);

/* Text / token ids generated by the last generate call (two-call pattern). */
LLMKIT_API llmkit_status llmkit_session_last_text(const llmkit_session* session, char* buf,
                                                  size_t capacity, size_t* out_len);
LLMKIT_API llmkit_status llmkit_session_last_tokens(const llmkit_session* session, int32_t* tokens,
                                                    size_t capacity, size_t* out_n_tokens);
/* Timings of the last evaluate/generate call (output struct). */
LLMKIT_API llmkit_status llmkit_session_last_timings(const llmkit_session* session,
                                                     llmkit_timings* out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LLMKIT_H */
