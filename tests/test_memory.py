"""Memory per sequence of a recurrent state and of attention's KV cache (chapter 11).

The reference numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import pytest

from rnncourse.analysis.memory import (
    attention_macs_per_token,
    kv_cache_bytes,
    mamba_state_size,
    recurrent_state_bytes,
)


def test_kv_cache_by_hand() -> None:
    # keys + values, 24 layers, 1000 tokens, 1024 numbers each, float16: 2*24*1000*1024*2
    assert kv_cache_bytes(1000, layers=24, kv_width=1024) == 98_304_000
    assert kv_cache_bytes(0, layers=24, kv_width=1024) == 0
    assert kv_cache_bytes(1, layers=1, kv_width=1, bytes_per_value=4) == 8
    # it grows linearly: one more token adds one key and one value per layer
    one = kv_cache_bytes(1, layers=24, kv_width=1024)
    assert kv_cache_bytes(10**6, layers=24, kv_width=1024) == 10**6 * one == 98_304_000_000


def test_recurrent_state_by_hand() -> None:
    # an LSTM of 24 layers keeps h and c: 2 * 1024 numbers per layer, float16
    assert recurrent_state_bytes(layers=24, state_per_layer=2 * 1024) == 98_304
    # Mamba, d_model 768: d_inner = 1536 channels, 16 state numbers + 3 inputs of the conv
    assert mamba_state_size(768) == 1536 * 19 == 29_184
    assert mamba_state_size(4, expand=1, d_state=1, d_conv=1) == 4


def test_attention_cost_by_hand() -> None:
    # 2 layers, 10 cached tokens, width 8: scores 10*8 and mixing 10*8 per layer
    assert attention_macs_per_token(10, layers=2, kv_width=8) == 320


@pytest.mark.parametrize("call, error, match", [
    (lambda: kv_cache_bytes(-1, layers=1, kv_width=1), ValueError, r"context must be >= 0"),
    (lambda: kv_cache_bytes(1.5, layers=1, kv_width=1), TypeError, r"context must be an int"),
    (lambda: kv_cache_bytes(1, layers=0, kv_width=1), ValueError, r"layers must be >= 1"),
    (lambda: recurrent_state_bytes(layers=1, state_per_layer=True), TypeError,
     r"state_per_layer must be an int"),
    (lambda: mamba_state_size(0), ValueError, r"d_model must be >= 1"),
])
def test_clear_errors(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()
