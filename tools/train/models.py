"""models.py - the three byte-level architectures trained for uniql.h (transformers 5.x).

Every size is chosen to suit the compression stages: hidden and intermediate sizes are
multiples of 128 (the int4 group), head_dim 64 for attention and Mamba2 heads, one B/C
group. Vocabulary: the 256 byte values (no special tokens; the model sees raw UTF-8/ASCII).
Each model has about 5-6 M parameters (about 11 MB in fp16).
"""
NO_SPECIAL = dict(bos_token_id=None, eos_token_id=None, pad_token_id=None)


def build_config(name):
    from transformers import LlamaConfig, Mamba2Config, NemotronHConfig

    if name == "llama-bytes-6m":
        return "LlamaForCausalLM", LlamaConfig(
            vocab_size=256, hidden_size=256, intermediate_size=640, num_hidden_layers=8,
            num_attention_heads=4, num_key_value_heads=2, head_dim=64, hidden_act="silu",
            max_position_embeddings=1024, rms_norm_eps=1e-5, tie_word_embeddings=False,
            attention_bias=False, mlp_bias=False,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, **NO_SPECIAL)
    if name == "mamba2-bytes-6m":
        return "Mamba2ForCausalLM", Mamba2Config(
            vocab_size=256, hidden_size=256, num_heads=8, head_dim=64, state_size=64, expand=2,
            n_groups=1, conv_kernel=4, num_hidden_layers=12, layer_norm_epsilon=1e-5,
            use_bias=False, use_conv_bias=True, hidden_act="silu", residual_in_fp32=True,
            chunk_size=64, tie_word_embeddings=False, **NO_SPECIAL)
    if name == "nemotronh-bytes-6m":
        # M = Mamba2 mixer, * = attention (no RoPE in Nemotron-H), - = relu2 MLP
        pattern = "M-M*M-M-M*M-"
        kinds = {"M": "linear_attention", "*": "full_attention", "-": "mlp"}
        return "NemotronHForCausalLM", NemotronHConfig(
            vocab_size=256, hidden_size=256, layers_block_type=[kinds[c] for c in pattern],
            num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=1024,
            intermediate_size=1024, mlp_hidden_act="relu2", mamba_num_heads=8, mamba_head_dim=64,
            ssm_state_size=64, n_groups=1, conv_kernel=4, expand=2, use_conv_bias=True,
            use_bias=False, chunk_size=64, layer_norm_epsilon=1e-5, tie_word_embeddings=False,
            **NO_SPECIAL)
    raise ValueError("unknown model " + name)


MODELS = ["llama-bytes-6m", "mamba2-bytes-6m", "nemotronh-bytes-6m"]

# Per-model training settings: `steps` of BATCH x SEQ bytes, learning-rate schedule laid
# out over `schedule` steps (warm-up 100, cosine to 10 %). The Mamba2 paths run on
# transformers' PyTorch fallback (no mamba_ssm kernels on the device), 4-8x slower per
# step than attention, so they get fewer steps within the device's 10-minute command
# limit: Nemotron-H ran 732 steps of a 1500-step schedule (the first run stopped at its
# 170 s time guard; these settings reproduce it without the guard), Mamba2 a complete
# 700-step schedule.
TRAIN = {
    "llama-bytes-6m": dict(lr=2e-3, steps=1500, schedule=1500),
    "mamba2-bytes-6m": dict(lr=2e-3, steps=700, schedule=700),
    "nemotronh-bytes-6m": dict(lr=2e-3, steps=732, schedule=1500),
}
BATCH, SEQ = 64, 256


def build_model(name):
    import transformers

    clsname, cfg = build_config(name)
    return getattr(transformers, clsname), cfg
