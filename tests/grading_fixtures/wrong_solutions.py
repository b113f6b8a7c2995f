"""Plausible wrong solutions that reviewers found passing the public checks (issue 23).

``WRONG[(stem, grade_id)]`` maps a label to the source of a wrong cell. Each must be
rejected by the exercise's public check cell and by the grader
(``tests/test_grading_wrong.py``), and ``make test-mutants`` counts them with the mutants.
"""

from __future__ import annotations

_JACOBIAN = '''\
def jacobian_norms(Wh, dphi):
    T, H = dphi.shape
    norms = np.empty(T + 1)
    M = np.eye(H)
    norms[T] = 1.0
    for t in range(T - 1, -1, -1):
        M = {step}
        norms[t] = np.linalg.norm(M, 2)
    return norms
'''

_BPTT = '''\
def lstm_backward(dh, dc_T, x, h0, c0, Wx, Wh, b):
    T = x.shape[1]
    caches = []
    prev_h, prev_c = h0, c0
    for t in range(T):
        prev_h, prev_c, cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        caches.append(cache)
    dx = np.zeros(x.shape)
    dWx, dWh, db = np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(b.shape)
    dprev_h, dprev_c = np.zeros(h0.shape), dc_T
    for t in range(T - 1, -1, -1):
        dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = {step}
        dx[:, t] = dx_t
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dprev_c, dWx, dWh, db
'''

_TRAIN = '''\
def train_char_rnn(train_ids, valid_ids, K, H, seq_len, lr, max_norm, epochs, seed):
    rng = np.random.default_rng(seed)
    Wx = rng.standard_normal((K, H)) / np.sqrt(K)
    Wh = rng.standard_normal((H, H)) / np.sqrt(H)
    V = rng.standard_normal((H, K)) / np.sqrt(H)
    b, c = np.zeros(H), np.zeros(K)
    onehot = np.eye(K)
    losses = []
    for _ in range(epochs):
        h0 = np.zeros((1, H))
        for start in range(0, len(train_ids) - 1, seq_len):
            stop = min(start + seq_len, len(train_ids) - 1)
            h, cache = rnn_forward(onehot[train_ids[start:stop]][None], h0, Wx, Wh, b)
            loss, dscores = temporal_softmax_loss(h @ V + c, train_ids[start + 1:stop + 1][None])
            dh, dV, dc = temporal_affine_backward(dscores, h, V)
            _, _, dWx, dWh, db = rnn_backward(dh, cache)
            grads = [dWx, dWh, db, dV, dc]
            norm = np.sqrt(sum(np.sum(g * g) for g in grads))
            scale = min(max_norm / (norm + 1e-6), 1.0)
            Wx, Wh, b, V, c = (p - lr * scale * g for p, g in zip((Wx, Wh, b, V, c), grads))
            losses.append(loss)
            h0 = {carry}
    h, _ = rnn_forward(onehot[valid_ids[:-1]][None], np.zeros((1, H)), Wx, Wh, b)
    valid_loss, _ = temporal_softmax_loss(h @ V + c, valid_ids[1:][None])
    return np.array(losses), valid_loss / np.log(2)
'''

WRONG: dict[tuple[str, str], dict[str, str]] = {
    ("ch03_params", "count_lstm_proj_params"): {
        "the recurrent weights still d x 4d (the projection ignored in weight_hh)": '''\
def count_lstm_proj_params(n, d, proj_size, num_layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    total, layer_input = 0, n
    for _ in range(num_layers):
        total += directions * (4 * d * layer_input + 4 * d * d + 8 * d + proj_size * d)
        layer_input = directions * proj_size
    return int(total)
''',
        "the layer above reads d features, not the projection": '''\
def count_lstm_proj_params(n, d, proj_size, num_layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    total, layer_input = 0, n
    for _ in range(num_layers):
        total += directions * (4 * d * layer_input + 4 * d * proj_size + 8 * d + proj_size * d)
        layer_input = directions * d
    return int(total)
''',
    },
    ("ch04_bptt", "temporal_softmax_loss"): {
        "the gradient of the summed loss (not divided by N T)": '''\
def temporal_softmax_loss(scores, y):
    N, T, K = scores.shape
    z = scores - scores.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    onehot = np.eye(K)[y]
    return -float(np.sum(onehot * log_p)) / (N * T), np.exp(log_p) - onehot
''',
    },
    ("ch04_bptt", "temporal_affine_backward"): {
        "dV and dc summed over the batch of the last step only": '''\
def temporal_affine_backward(dscores, h, V):
    return dscores @ V.T, h[:, -1].T @ dscores[:, -1], dscores[:, -1].sum(axis=0)
''',
    },
    ("ch04_bptt", "train_char_rnn"): {
        "not stateful: every chunk starts from h = 0": _TRAIN.format(carry="np.zeros((1, H))"),
        "each gradient clipped by its own norm": _TRAIN.format(carry="h[:, -1]").replace(
            "norm = np.sqrt(sum(np.sum(g * g) for g in grads))",
            "norm = np.array([np.sqrt(np.sum(g * g)) for g in grads], dtype=object)").replace(
            "scale = min(max_norm / (norm + 1e-6), 1.0)",
            "scale = [min(max_norm / (n + 1e-6), 1.0) for n in norm]").replace(
            "(p - lr * scale * g for p, g in zip((Wx, Wh, b, V, c), grads))",
            "(p - lr * s * g for p, g, s in zip((Wx, Wh, b, V, c), grads, scale))"),
    },
    ("ch05_gradients", "clip_by_norm"): {
        "each array clipped by its own norm": '''\
def clip_by_norm(grads, max_norm):
    out = []
    for g in grads:
        scale = max_norm / (np.sqrt(np.sum(g * g)) + 1e-6)
        out.append(g * scale if scale < 1 else g.copy())
    return out
''',
    },
    ("ch05_gradients", "jacobian_norms"): {
        "missing transpose": _JACOBIAN.format(step="M @ (dphi[t][:, None] * Wh)"),
        "product in the wrong order": _JACOBIAN.format(step="(dphi[t][:, None] * Wh.T) @ M"),
        "wrong order and missing transpose": _JACOBIAN.format(step="(dphi[t][:, None] * Wh) @ M"),
        "derivative on the wrong side of Wh^T": _JACOBIAN.format(step="M @ (Wh.T * dphi[t])"),
    },
    ("ch05_gradients", "orthogonal_init"): {
        "no sign correction (NumPy's Q as it comes)": '''\
def orthogonal_init(H, gain, seed):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((H, H)))
    return gain * Q
''',
        "the signs applied to the rows": '''\
def orthogonal_init(H, gain, seed):
    Q, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((H, H)))
    return gain * np.sign(np.diag(R))[:, None] * Q
''',
    },
    ("ch06_lstm", "lstm_step_forward"): {
        "no cache returned": '''\
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    g = np.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c
''',
    },
    ("ch06_lstm", "lstm_backward"): {
        "the cell state's gradient does not flow back from step to step": _BPTT.format(
            step="lstm_step_backward(dh[:, t] + dprev_h, dc_T if t == T - 1 else 0 * dc_T, "
                 "caches[t])"),
        "the weight gradients of the first step only": _BPTT.format(
            step="lstm_step_backward(dh[:, t] + dprev_h, dprev_c, caches[t])").replace(
            "dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t",
            "dWx, dWh, db = dWx_t, dWh_t, db_t"),
    },
    ("ch08_gru", "count_gru_params"): {
        "layer 2 reads 2 d inputs even in one direction": '''\
def count_gru_params(n, d, num_layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        layer_input = n if layer == 0 else 2 * d
        total += directions * 3 * (layer_input * d + d * d + 2 * d)
    return int(total)
''',
    },
    ("ch08_gru", "gru_step_backward"): {
        "the n block's hidden term gets da_n, not da_n * r (one da for both sides)": '''\
def gru_step_backward(dnext_h, x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    xa = x @ Wx + bx
    ha = prev_h @ Wh + bh
    r = sigmoid(xa[:, :H] + ha[:, :H])
    z = sigmoid(xa[:, H:2 * H] + ha[:, H:2 * H])
    n = np.tanh(xa[:, 2 * H:] + r * ha[:, 2 * H:])
    da_n = dnext_h * (1 - z) * (1 - n ** 2)
    da_r = da_n * ha[:, 2 * H:] * r * (1 - r)
    da_z = dnext_h * (prev_h - n) * z * (1 - z)
    da = np.concatenate([da_r, da_z, da_n], axis=1)
    dprev_h = dnext_h * z + da @ Wh.T
    return da @ Wx.T, dprev_h, x.T @ da, prev_h.T @ da, da.sum(axis=0), da.sum(axis=0)
''',
        "the update gate the wrong way round (h = z n + (1 - z) prev_h)": '''\
def gru_step_backward(dnext_h, x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    xa = x @ Wx + bx
    ha = prev_h @ Wh + bh
    r = sigmoid(xa[:, :H] + ha[:, :H])
    z = sigmoid(xa[:, H:2 * H] + ha[:, H:2 * H])
    n = np.tanh(xa[:, 2 * H:] + r * ha[:, 2 * H:])
    da_n = dnext_h * z * (1 - n ** 2)
    da_r = da_n * ha[:, 2 * H:] * r * (1 - r)
    da_z = dnext_h * (n - prev_h) * z * (1 - z)
    dxa = np.concatenate([da_r, da_z, da_n], axis=1)
    dha = np.concatenate([da_r, da_z, da_n * r], axis=1)
    dprev_h = dnext_h * (1 - z) + dha @ Wh.T
    return dxa @ Wx.T, dprev_h, x.T @ dxa, prev_h.T @ dha, dxa.sum(axis=0), dha.sum(axis=0)
''',
    },
    ("ch09_seq2seq", "attention_decoder_step"): {
        "the query is the new state, attended after the recurrence (Luong's order)": '''\
def attention_decoder_step(token, h, enc, E, Wx, Wc, Wh, Wq, Wk, v, V):
    h_new = np.tanh(E[token] @ Wx + h @ Wh)
    e = np.tanh(h_new @ Wq + enc @ Wk) @ v
    weights = np.exp(e - np.max(e))
    weights = weights / np.sum(weights)
    h_new = np.tanh(E[token] @ Wx + (weights @ enc) @ Wc + h @ Wh)
    return h_new @ V, h_new, weights
''',
        "no tanh inside the score": '''\
def attention_decoder_step(token, h, enc, E, Wx, Wc, Wh, Wq, Wk, v, V):
    e = (h @ Wq + enc @ Wk) @ v
    weights = np.exp(e - np.max(e))
    weights = weights / np.sum(weights)
    h_new = np.tanh(E[token] @ Wx + (weights @ enc) @ Wc + h @ Wh)
    return h_new @ V, h_new, weights
''',
    },
    ("ch09_seq2seq", "beam_search"): {
        "lets an unfinished hypothesis win at max_len (no eos forced)": '''\
def beam_search(h0, E, Wx, Wh, V, bos, eos, max_len, beam_width):
    beam = [(0.0, [], h0)]
    for _ in range(max_len):
        candidates = []
        for score, tokens, h in beam:
            if tokens and tokens[-1] == eos:
                candidates.append((score, tokens, h))
                continue
            scores, h_next = decoder_step(tokens[-1] if tokens else bos, h, E, Wx, Wh, V)
            logp = log_softmax(scores)
            for k in range(len(logp)):
                candidates.append((score + float(logp[k]), tokens + [k], h_next))
        candidates.sort(key=lambda c: c[0], reverse=True)
        beam = candidates[:beam_width]
        if all(tokens[-1] == eos for _, tokens, _ in beam):
            break
    score, tokens, _ = beam[0]
    return np.array(tokens, dtype=np.int64), float(score)
''',
    },
    ("ch09_seq2seq", "normalised_beam_search"): {
        "prunes on raw log p, normalises only the final pick": '''\
def normalised_beam_search(h0, E, Wx, Wh, V, bos, eos, max_len, beam_width, alpha):
    beam = [(0.0, [], h0)]
    for _ in range(max_len):
        candidates = []
        for logp_sum, tokens, h in beam:
            if tokens and tokens[-1] == eos:
                candidates.append((logp_sum, tokens, h))
                continue
            scores, h_next = decoder_step(tokens[-1] if tokens else bos, h, E, Wx, Wh, V)
            logp = log_softmax(scores)
            for k in range(len(logp)):
                candidates.append((logp_sum + float(logp[k]), tokens + [k], h_next))
        candidates.sort(key=lambda c: c[0], reverse=True)
        beam = candidates[:beam_width]
        if all(tokens[-1] == eos for _, tokens, _ in beam):
            break
    best = max(beam, key=lambda c: c[0] / len(c[1]) ** alpha)
    return np.array(best[1], dtype=np.int64), float(best[0] / len(best[1]) ** alpha)
''',
    },
    ("ch10_applications", "kneser_ney_prob"): {
        "raw counts at the lower order (not continuation counts)": '''\
def kneser_ney_prob(text, vocab, h, w, discount):
    pairs = [text[i:i + 2] for i in range(len(text) - 1)]
    counts = [b[1] for b in pairs]
    n_w, n = counts.count(w), len(counts)
    p1 = max(n_w - discount, 0) / n + discount * len(set(counts)) / n / len(vocab)
    followers = [b[1] for b in pairs if b[0] == h]
    if not followers:
        return float(p1)
    c = len(followers)
    return float(max(followers.count(w) - discount, 0) / c
                 + discount * len(set(followers)) / c * p1)
''',
    },
    ("ch10_applications", "best_mixture_weight"): {
        "the weight with the highest mean probability (not the fewest bits)": '''\
def best_mixture_weight(p_a, p_b, grid):
    means = [np.mean(lam * p_a + (1 - lam) * p_b) for lam in grid]
    best = int(np.argmax(means))
    mix = grid[best] * p_a + (1 - grid[best]) * p_b
    return float(grid[best]), float(-np.mean(np.log2(mix)))
''',
    },
    ("ch10_applications", "variational_dropout"): {
        "the kept units not scaled by 1 / (1 - p)": '''\
def variational_dropout(h, p, u):
    return h * (u >= p)[:, None, :]
''',
    },
}
