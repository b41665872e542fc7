"""An independent plain-Python microgpt forward (lists and floats), written from the spec.

Tests and benchmarks compare the numpy model against it; it shares no code with `model`.
"""
import math


def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]


def rmsnorm(x):
    scale = (sum(xi * xi for xi in x) / len(x) + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def softmax(z):
    top = max(z)
    e = [math.exp(zi - top) for zi in z]
    total = sum(e)
    return [ei / total for ei in e]


def forward(sd, tokens, n_head=4, n_layer=1):
    """Logits after each position, one token at a time with a growing KV cache."""
    n_embd = len(sd["wte"][0])
    hd = n_embd // n_head
    keys = [[] for _ in range(n_layer)]
    values = [[] for _ in range(n_layer)]
    out = []
    for pos, tok in enumerate(tokens):
        x = rmsnorm([a + b for a, b in zip(sd["wte"][tok], sd["wpe"][pos])])
        for li in range(n_layer):
            res = x
            xn = rmsnorm(x)
            q = linear(xn, sd[f"layer{li}.attn_wq"])
            keys[li].append(linear(xn, sd[f"layer{li}.attn_wk"]))
            values[li].append(linear(xn, sd[f"layer{li}.attn_wv"]))
            heads = []
            for h in range(n_head):
                s = slice(h * hd, (h + 1) * hd)
                scores = [sum(a * b for a, b in zip(q[s], k[s])) / math.sqrt(hd) for k in keys[li]]
                w = softmax(scores)
                heads += [sum(w[t] * values[li][t][s][j] for t in range(len(w))) for j in range(hd)]
            x = [a + b for a, b in zip(linear(heads, sd[f"layer{li}.attn_wo"]), res)]
            res = x
            hidden = [max(0.0, v) for v in linear(rmsnorm(x), sd[f"layer{li}.mlp_fc1"])]
            x = [a + b for a, b in zip(linear(hidden, sd[f"layer{li}.mlp_fc2"]), res)]
        out.append(linear(x, sd["lm_head"]))
    return out
