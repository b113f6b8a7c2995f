"""What a model must keep per sequence while it generates: a recurrent state or a KV cache.

Exact integer arithmetic (chapter 11). A Transformer generating token ``t + 1`` attends
to the keys and values of all ``t`` tokens before it, so it keeps them, in every layer: its
**key-value cache** grows by one key and one value per layer with every token. A
recurrent layer keeps only its state, whose size does not depend on how many tokens it has
read.

Sizes are counted in stored numbers, then bytes (``bytes_per_value``: 2 for float16 or
bfloat16, 4 for float32).
"""

from __future__ import annotations

__all__ = ["kv_cache_bytes", "recurrent_state_bytes", "mamba_state_size",
           "attention_macs_per_token"]


def _count(where: str, name: str, v: object, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{where}: {name} must be an int, got {type(v).__name__} {v!r}")
    if v < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {v}")
    return v


def kv_cache_bytes(context: int, *, layers: int, kv_width: int, bytes_per_value: int = 2) -> int:
    """Bytes of the key-value cache after ``context`` tokens.

    ``2 (keys and values) x layers x context x kv_width x bytes_per_value``, where
    ``kv_width`` is the width of one token's keys over all heads (``d_model`` in the
    original Transformer; smaller with grouped-query attention).
    """
    w = "kv_cache_bytes"
    return (2 * _count(w, "layers", layers) * _count(w, "context", context, 0)
            * _count(w, "kv_width", kv_width) * _count(w, "bytes_per_value", bytes_per_value))


def recurrent_state_bytes(*, layers: int, state_per_layer: int, bytes_per_value: int = 2) -> int:
    """Bytes of a recurrent model's state: ``layers x state_per_layer x bytes_per_value``,
    the same after 1 token as after a million."""
    w = "recurrent_state_bytes"
    return (_count(w, "layers", layers) * _count(w, "state_per_layer", state_per_layer)
            * _count(w, "bytes_per_value", bytes_per_value))


def mamba_state_size(d_model: int, *, expand: int = 2, d_state: int = 16, d_conv: int = 4) -> int:
    """Numbers in one Mamba layer's state: ``d_inner (d_state + d_conv - 1)``.

    ``d_inner = expand x d_model`` channels, each with a state of ``d_state`` numbers for
    the selective scan and the last ``d_conv - 1`` inputs of its short convolution
    (defaults: those of Gu and Dao's Mamba).
    """
    w = "mamba_state_size"
    d_inner = _count(w, "expand", expand) * _count(w, "d_model", d_model)
    return d_inner * (_count(w, "d_state", d_state) + _count(w, "d_conv", d_conv) - 1)


def attention_macs_per_token(context: int, *, layers: int, kv_width: int) -> int:
    """Multiply-adds that attention itself spends on the next token after ``context`` tokens.

    Per layer, the query meets every cached key (``kv_width`` multiply-adds each, over all
    heads) and the weights mix every cached value (``kv_width`` again): ``2 x context x
    kv_width``. The projections and the feed-forward part cost the same at every position
    and are left out, as is the recurrent layer's constant cost.
    """
    w = "attention_macs_per_token"
    return (2 * _count(w, "layers", layers) * _count(w, "context", context, 0)
            * _count(w, "kv_width", kv_width))
