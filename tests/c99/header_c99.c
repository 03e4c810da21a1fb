/* llmkit.h must compile as strict C99 (-std=c99 -Wall -Wextra -pedantic -Werror): no C++ types,
 * no C11 features. Built and run by tools/abi_check.sh against libllmkit.so; it also prints the
 * struct sizes the Rust/Python bindings mirror, and checks them against the expected LP64 values.
 */
#include "llmkit.h"

#include <stdio.h>
#include <string.h>

/* C99 has no _Static_assert: a negative array size fails the build instead. */
#define CHECK_SIZE(type, size) typedef char check_##type[(sizeof(type) == (size)) ? 1 : -1]
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
CHECK_SIZE(llmkit_model_params, 40);
CHECK_SIZE(llmkit_model_info, 56);
CHECK_SIZE(llmkit_memory_estimate, 40);
CHECK_SIZE(llmkit_chat_message, 16);
CHECK_SIZE(llmkit_session_params, 20);
CHECK_SIZE(llmkit_logit_bias, 8);
CHECK_SIZE(llmkit_sampler_params, 64);
CHECK_SIZE(llmkit_generate_params, 48);
CHECK_SIZE(llmkit_timings, 48);
CHECK_SIZE(llmkit_generation_result, 64);
#endif

static int on_token(const char* text, size_t len, int32_t token, void* user_data) {
  (void)text;
  (void)len;
  (void)token;
  (void)user_data;
  return 1;
}

int main(void) {
  llmkit_model_params mp;
  llmkit_session_params sp;
  llmkit_sampler_params smp;
  llmkit_generate_params gp;
  llmkit_generation_result result;
  llmkit_token_callback cb = on_token;
  llmkit_status st;
  llmkit_model* model = NULL;
  int failures = 0;

  llmkit_model_params_init(&mp);
  llmkit_session_params_init(&sp);
  llmkit_sampler_params_init(&smp);
  llmkit_generate_params_init(&gp);
  memset(&result, 0, sizeof result);
  result.struct_size = sizeof result;
  (void)cb;

  if (llmkit_version_number() != LLMKIT_VERSION_NUMBER) {
    printf("header version %s != library version %s\n", LLMKIT_VERSION_STRING,
           llmkit_version_string());
    failures++;
  }
  if (mp.struct_size != sizeof mp || sp.struct_size != sizeof sp || smp.struct_size != sizeof smp ||
      gp.struct_size != sizeof gp) {
    printf("*_params_init did not set struct_size\n");
    failures++;
  }
  st = llmkit_model_load(NULL, &mp, &model);
  if (st != LLMKIT_ERR_INVALID_ARGUMENT || model != NULL || llmkit_last_error()[0] == '\0') {
    printf("NULL path: got %s\n", llmkit_status_str(st));
    failures++;
  }
  printf(
      "llmkit %s (C99 header OK): sizes model_params=%u session_params=%u sampler_params=%u "
      "generate_params=%u generation_result=%u timings=%u\n",
      llmkit_version_string(), (unsigned)sizeof mp, (unsigned)sizeof sp, (unsigned)sizeof smp,
      (unsigned)sizeof gp, (unsigned)sizeof result, (unsigned)sizeof(llmkit_timings));
  return failures == 0 ? 0 : 1;
}
