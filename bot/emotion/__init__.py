"""Text -> emotion evidence: sentence embeddings, lexicons, Japanese (fugashi), content classes.

Public API:
- `engine.get_engine() -> EmotionEngine` (process-wide, cached); `EmotionEngine.read(text,
  language=None) -> EmotionReading`, `.read_many(texts)`, `.goemotions(text) -> dict[str, float]`,
  `.analyse(text)` (reading plus the evidence behind it).
- `content_class.classify_content(text, reading=None) -> ContentClassResult`.
- CLI (commands.py): `needtotalk train emotion-head --data DIR`, `needtotalk train
  emotion-prototypes`, `needtotalk classify`.
Data: policies/emotions.yaml, policies/content.yaml; artefacts/ (see its README).
"""
