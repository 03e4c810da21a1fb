"""Minimal llmkit Python chat: python3 examples/python/chat.py MODEL.gguf "What is the capital of France?"
(LLMKIT_LIBRARY=build/libllmkit.so, or pip install ./bindings/python with the library next to it)."""
import sys

import llmkit

model = llmkit.Model(sys.argv[1] if len(sys.argv) > 1 else "SmolLM2-135M-Instruct.Q4_1.gguf")
question = sys.argv[2] if len(sys.argv) > 2 else "Tell me a short story."
messages = [{"role": "user", "content": question}]
reply = model.chat(messages, temperature=0, max_new_tokens=64)
for chunk in reply:
    print(chunk, end="", flush=True)
print(f"\n[{reply.result.timings.n_decode} tokens, {reply.result.timings.decode_tok_per_s:.1f} tok/s, "
      f"{reply.result.finish_reason}]")
