//! Raw declarations of llmkit's stable C ABI (`bindings/c/llmkit.h`), written by hand (no bindgen).
//! Every item mirrors the header one to one; see the header for ownership, lifetime,
//! thread-safety and error rules. Use the safe `llmkit` crate instead of this one.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_float, c_int, c_void};

pub type llmkit_status = c_int;
pub const LLMKIT_OK: llmkit_status = 0;
pub const LLMKIT_ERR_INVALID_ARGUMENT: llmkit_status = -1;
pub const LLMKIT_ERR_NOT_FOUND: llmkit_status = -2;
pub const LLMKIT_ERR_IO: llmkit_status = -3;
pub const LLMKIT_ERR_CORRUPT_FILE: llmkit_status = -4;
pub const LLMKIT_ERR_UNSUPPORTED: llmkit_status = -5;
pub const LLMKIT_ERR_OUT_OF_MEMORY: llmkit_status = -6;
pub const LLMKIT_ERR_OUT_OF_RANGE: llmkit_status = -7;
pub const LLMKIT_ERR_CANCELLED: llmkit_status = -8;
pub const LLMKIT_ERR_INTERNAL: llmkit_status = -9;
pub const LLMKIT_ERR_NETWORK_UNAVAILABLE: llmkit_status = -10;
pub const LLMKIT_ERR_BUFFER_TOO_SMALL: llmkit_status = -100;

pub const LLMKIT_VERSION_MAJOR: i32 = 0;
pub const LLMKIT_VERSION_MINOR: i32 = 1;
pub const LLMKIT_VERSION_PATCH: i32 = 0;
pub const LLMKIT_VERSION_NUMBER: i32 =
    LLMKIT_VERSION_MAJOR * 10000 + LLMKIT_VERSION_MINOR * 100 + LLMKIT_VERSION_PATCH;

pub type llmkit_log_level = c_int;
pub const LLMKIT_LOG_DEBUG: llmkit_log_level = 0;
pub const LLMKIT_LOG_INFO: llmkit_log_level = 1;
pub const LLMKIT_LOG_WARN: llmkit_log_level = 2;
pub const LLMKIT_LOG_ERROR: llmkit_log_level = 3;
pub type llmkit_log_callback =
    Option<unsafe extern "C" fn(level: llmkit_log_level, message: *const c_char, user_data: *mut c_void)>;

#[repr(C)]
pub struct llmkit_model {
    _private: [u8; 0],
}
#[repr(C)]
pub struct llmkit_tokenizer {
    _private: [u8; 0],
}
#[repr(C)]
pub struct llmkit_session {
    _private: [u8; 0],
}

pub type llmkit_progress_callback = Option<unsafe extern "C" fn(fraction: c_float, user_data: *mut c_void) -> c_int>;

pub type llmkit_backend = c_int;
pub const LLMKIT_BACKEND_FAST: llmkit_backend = 0;
pub const LLMKIT_BACKEND_REFERENCE: llmkit_backend = 1;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct llmkit_model_params {
    pub struct_size: u32,
    pub backend: i32,
    pub n_threads: i32,
    pub use_mmap: i32,
    pub progress_callback: llmkit_progress_callback,
    pub progress_user_data: *mut c_void,
    pub repack_cache_dir: *const c_char,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct llmkit_model_info {
    pub struct_size: u32,
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

pub type llmkit_model_string = c_int;
pub const LLMKIT_MODEL_ARCHITECTURE: llmkit_model_string = 0;
pub const LLMKIT_MODEL_NAME: llmkit_model_string = 1;
pub const LLMKIT_MODEL_LICENSE: llmkit_model_string = 2;
pub const LLMKIT_MODEL_CHAT_TEMPLATE: llmkit_model_string = 3;
pub const LLMKIT_MODEL_FILE_TYPE: llmkit_model_string = 4;
pub const LLMKIT_MODEL_FORMAT: llmkit_model_string = 5;
pub const LLMKIT_MODEL_PATH: llmkit_model_string = 6;
pub const LLMKIT_MODEL_REPACK_CACHE: llmkit_model_string = 7;

pub type llmkit_kv_type = c_int;
pub const LLMKIT_KV_F32: llmkit_kv_type = 0;
pub const LLMKIT_KV_F16: llmkit_kv_type = 1;
pub const LLMKIT_KV_BF16: llmkit_kv_type = 2;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct llmkit_memory_estimate {
    pub struct_size: u32,
    pub n_ctx: u32,
    pub weights_bytes: u64,
    pub kv_cache_bytes: u64,
    pub scratch_bytes: u64,
    pub total_bytes: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct llmkit_chat_message {
    pub role: *const c_char,
    pub content: *const c_char,
}

pub const LLMKIT_TOKENIZE_ADD_SPECIAL: u32 = 1;
pub const LLMKIT_TOKENIZE_PARSE_SPECIAL: u32 = 2;
pub const LLMKIT_DECODE_SKIP_SPECIAL: u32 = 1;

pub type llmkit_special_token = c_int;
pub const LLMKIT_TOKEN_BOS: llmkit_special_token = 0;
pub const LLMKIT_TOKEN_EOS: llmkit_special_token = 1;
pub const LLMKIT_TOKEN_EOT: llmkit_special_token = 2;
pub const LLMKIT_TOKEN_PAD: llmkit_special_token = 3;
pub const LLMKIT_TOKEN_UNK: llmkit_special_token = 4;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct llmkit_session_params {
    pub struct_size: u32,
    pub n_ctx: u32,
    pub kv_type: i32,
    pub n_threads: i32,
    pub n_batch: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llmkit_logit_bias {
    pub token: i32,
    pub bias: f32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct llmkit_sampler_params {
    pub struct_size: u32,
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    pub repeat_penalty: f32,
    pub penalty_last_n: i32,
    pub frequency_penalty: f32,
    pub presence_penalty: f32,
    pub seed: u64,
    pub logit_bias: *const llmkit_logit_bias,
    pub n_logit_bias: usize,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct llmkit_generate_params {
    pub struct_size: u32,
    pub max_new_tokens: i32,
    pub stop_strings: *const *const c_char,
    pub n_stop_strings: usize,
    pub stop_tokens: *const i32,
    pub n_stop_tokens: usize,
    pub stop_at_end_of_generation: i32,
    pub context_full_is_error: i32,
}

pub type llmkit_finish_reason = c_int;
pub const LLMKIT_FINISH_MAX_TOKENS: llmkit_finish_reason = 0;
pub const LLMKIT_FINISH_END_OF_GENERATION: llmkit_finish_reason = 1;
pub const LLMKIT_FINISH_STOP_TOKEN: llmkit_finish_reason = 2;
pub const LLMKIT_FINISH_STOP_STRING: llmkit_finish_reason = 3;
pub const LLMKIT_FINISH_CONTEXT_FULL: llmkit_finish_reason = 4;
pub const LLMKIT_FINISH_CANCELLED: llmkit_finish_reason = 5;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct llmkit_timings {
    pub struct_size: u32,
    pub n_prefill: i32,
    pub n_reused: i32,
    pub n_decode: i32,
    pub load_ms: f64,
    pub prefill_ms: f64,
    pub decode_ms: f64,
    pub ttft_ms: f64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct llmkit_generation_result {
    pub struct_size: u32,
    pub finish_reason: i32,
    pub n_tokens: i32,
    pub reserved: u32,
    pub timings: llmkit_timings,
}

pub type llmkit_token_callback =
    Option<unsafe extern "C" fn(text: *const c_char, len: usize, token: i32, user_data: *mut c_void) -> c_int>;

extern "C" {
    pub fn llmkit_version_number() -> i32;
    pub fn llmkit_version_string() -> *const c_char;
    pub fn llmkit_status_str(status: llmkit_status) -> *const c_char;
    pub fn llmkit_last_error() -> *const c_char;
    pub fn llmkit_set_log_callback(callback: llmkit_log_callback, user_data: *mut c_void, min_level: llmkit_log_level);

    pub fn llmkit_model_params_init(params: *mut llmkit_model_params);
    pub fn llmkit_model_params_init_sized(params: *mut llmkit_model_params, size: usize);
    pub fn llmkit_model_load(
        path: *const c_char,
        params: *const llmkit_model_params,
        out_model: *mut *mut llmkit_model,
    ) -> llmkit_status;
    pub fn llmkit_model_free(model: *mut llmkit_model);
    pub fn llmkit_model_get_info(model: *const llmkit_model, out: *mut llmkit_model_info) -> llmkit_status;
    pub fn llmkit_model_get_string(
        model: *const llmkit_model,
        which: llmkit_model_string,
        buf: *mut c_char,
        capacity: usize,
        out_len: *mut usize,
    ) -> llmkit_status;
    pub fn llmkit_model_get_meta(
        model: *const llmkit_model,
        key: *const c_char,
        buf: *mut c_char,
        capacity: usize,
        out_len: *mut usize,
    ) -> llmkit_status;
    pub fn llmkit_model_estimate_memory(
        model: *const llmkit_model,
        n_ctx: u32,
        kv_type: llmkit_kv_type,
        out: *mut llmkit_memory_estimate,
    ) -> llmkit_status;
    pub fn llmkit_model_apply_chat_template(
        model: *const llmkit_model,
        messages: *const llmkit_chat_message,
        n_messages: usize,
        add_generation_prompt: c_int,
        buf: *mut c_char,
        capacity: usize,
        out_len: *mut usize,
    ) -> llmkit_status;

    pub fn llmkit_tokenizer_from_model(
        model: *const llmkit_model,
        out_tokenizer: *mut *mut llmkit_tokenizer,
    ) -> llmkit_status;
    pub fn llmkit_tokenizer_load(path: *const c_char, out_tokenizer: *mut *mut llmkit_tokenizer) -> llmkit_status;
    pub fn llmkit_tokenizer_free(tokenizer: *mut llmkit_tokenizer);
    pub fn llmkit_tokenizer_encode(
        tokenizer: *const llmkit_tokenizer,
        text: *const c_char,
        text_len: usize,
        flags: u32,
        tokens: *mut i32,
        capacity: usize,
        out_n_tokens: *mut usize,
    ) -> llmkit_status;
    pub fn llmkit_tokenizer_decode(
        tokenizer: *const llmkit_tokenizer,
        tokens: *const i32,
        n_tokens: usize,
        flags: u32,
        buf: *mut c_char,
        capacity: usize,
        out_len: *mut usize,
    ) -> llmkit_status;
    pub fn llmkit_tokenizer_token_text(
        tokenizer: *const llmkit_tokenizer,
        token: i32,
        buf: *mut c_char,
        capacity: usize,
        out_len: *mut usize,
    ) -> llmkit_status;
    pub fn llmkit_tokenizer_n_vocab(tokenizer: *const llmkit_tokenizer) -> i32;
    pub fn llmkit_tokenizer_special_id(tokenizer: *const llmkit_tokenizer, which: llmkit_special_token) -> i32;
    pub fn llmkit_tokenizer_is_end_of_generation(tokenizer: *const llmkit_tokenizer, token: i32) -> c_int;

    pub fn llmkit_session_params_init(params: *mut llmkit_session_params);
    pub fn llmkit_session_create(
        model: *const llmkit_model,
        params: *const llmkit_session_params,
        out_session: *mut *mut llmkit_session,
    ) -> llmkit_status;
    pub fn llmkit_session_free(session: *mut llmkit_session);
    pub fn llmkit_session_evaluate(session: *mut llmkit_session, tokens: *const i32, n_tokens: usize) -> llmkit_status;
    pub fn llmkit_session_logits(session: *const llmkit_session, out_n: *mut usize) -> *const f32;
    pub fn llmkit_session_get_tokens(
        session: *const llmkit_session,
        tokens: *mut i32,
        capacity: usize,
        out_n_tokens: *mut usize,
    ) -> llmkit_status;
    pub fn llmkit_session_n_ctx(session: *const llmkit_session) -> u32;
    pub fn llmkit_session_reset(session: *mut llmkit_session) -> llmkit_status;
    pub fn llmkit_session_truncate(session: *mut llmkit_session, n_keep: usize) -> llmkit_status;
    pub fn llmkit_session_cancel(session: *mut llmkit_session) -> llmkit_status;
    pub fn llmkit_sampler_params_init(params: *mut llmkit_sampler_params);
    pub fn llmkit_generate_params_init(params: *mut llmkit_generate_params);
    pub fn llmkit_session_generate(
        session: *mut llmkit_session,
        prompt: *const i32,
        n_prompt: usize,
        sampler: *const llmkit_sampler_params,
        gen: *const llmkit_generate_params,
        callback: llmkit_token_callback,
        user_data: *mut c_void,
        out_result: *mut llmkit_generation_result,
    ) -> llmkit_status;
    pub fn llmkit_session_generate_text(
        session: *mut llmkit_session,
        prompt: *const c_char,
        sampler: *const llmkit_sampler_params,
        gen: *const llmkit_generate_params,
        callback: llmkit_token_callback,
        user_data: *mut c_void,
        out_result: *mut llmkit_generation_result,
    ) -> llmkit_status;
    pub fn llmkit_session_last_text(
        session: *const llmkit_session,
        buf: *mut c_char,
        capacity: usize,
        out_len: *mut usize,
    ) -> llmkit_status;
    pub fn llmkit_session_last_tokens(
        session: *const llmkit_session,
        tokens: *mut i32,
        capacity: usize,
        out_n_tokens: *mut usize,
    ) -> llmkit_status;
    pub fn llmkit_session_last_timings(session: *const llmkit_session, out: *mut llmkit_timings) -> llmkit_status;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, size_of};

    // Layouts as the C compiler lays them out on LP64 (checked against the header in
    // tests/c99/header_c99.c, which prints the same numbers).
    #[test]
    fn struct_layouts() {
        assert_eq!(size_of::<llmkit_model_params>(), 40);
        assert_eq!(size_of::<llmkit_model_info>(), 56);
        assert_eq!(size_of::<llmkit_memory_estimate>(), 40);
        assert_eq!(size_of::<llmkit_chat_message>(), 16);
        assert_eq!(size_of::<llmkit_session_params>(), 20);
        assert_eq!(size_of::<llmkit_logit_bias>(), 8);
        assert_eq!(size_of::<llmkit_sampler_params>(), 64);
        assert_eq!(size_of::<llmkit_generate_params>(), 48);
        assert_eq!(size_of::<llmkit_timings>(), 48);
        assert_eq!(size_of::<llmkit_generation_result>(), 64);
        assert_eq!(align_of::<llmkit_generation_result>(), 8);
    }

    #[test]
    fn version_matches_library() {
        unsafe {
            assert_eq!(llmkit_version_number(), LLMKIT_VERSION_NUMBER);
        }
    }
}
