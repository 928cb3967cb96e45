"""The GoEmotions head: a small MLP on MiniLM embeddings -> 28 label probabilities.

Trained by `needtotalk train emotion-head` (bot/emotion/training.py) on the GoEmotions train split
(Demszky et al., ACL 2020; CC BY 4.0). Inference is plain numpy so reading a text costs one
embedding plus two small matrix products; torch is needed only to train.

The artefact is one .npz: `w1 (384, h)`, `b1 (h,)`, `w2 (h, 28)`, `b2 (28,)`, `thresholds (28,)`
(per-label decision thresholds tuned on a held-out part of TRAIN) and `labels` (names in order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ARTEFACT_DIR = Path(__file__).resolve().parent / "artefacts"
DEFAULT_HEAD_PATH = ARTEFACT_DIR / "goemotions_head.npz"


def sigmoid(x: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0))), dtype=np.float32)


@dataclass(frozen=True)
class GoEmotionsHead:
    w1: NDArray[np.float32]
    b1: NDArray[np.float32]
    w2: NDArray[np.float32]
    b2: NDArray[np.float32]
    thresholds: NDArray[np.float32]
    labels: tuple[str, ...]

    def probabilities(self, embeddings: NDArray[np.float32]) -> NDArray[np.float32]:
        """(n, 384) unit embeddings -> (n, 28) independent label probabilities (multi-label)."""
        hidden = np.maximum(embeddings @ self.w1 + self.b1, 0.0)
        return sigmoid(hidden @ self.w2 + self.b2)

    def predictions(self, probabilities: NDArray[np.float32]) -> NDArray[np.bool_]:
        """Labels at or above their tuned thresholds."""
        return probabilities >= self.thresholds

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            w1=self.w1.astype(np.float16),
            b1=self.b1,
            w2=self.w2.astype(np.float16),
            b2=self.b2,
            thresholds=self.thresholds,
            labels=np.array(self.labels),
        )

    @classmethod
    def load(cls, path: Path = DEFAULT_HEAD_PATH) -> GoEmotionsHead:
        if not path.is_file():
            raise FileNotFoundError(
                f"emotion head {path} not found; train it with "
                "`needtotalk train emotion-head --data DIR`"
            )
        with np.load(path) as data:
            return cls(
                w1=data["w1"].astype(np.float32),
                b1=data["b1"].astype(np.float32),
                w2=data["w2"].astype(np.float32),
                b2=data["b2"].astype(np.float32),
                thresholds=data["thresholds"].astype(np.float32),
                labels=tuple(str(x) for x in data["labels"]),
            )
