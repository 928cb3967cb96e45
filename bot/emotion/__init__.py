"""Text -> emotion evidence: sentence embeddings, lexicons, Japanese (fugashi), content classes.

Public API:
- `engine.get_engine() -> EmotionEngine` (process-wide, cached); `EmotionEngine.read(text,
  language=None) -> EmotionReading`, `.read_many(texts)`, `.goemotions(text) -> dict[str, float]`,
  `.analyse(text)` (reading plus the evidence behind it).
- `content_class.classify_content(text, reading=None) -> ContentClassResult`.
- `embeddings.embed(texts) -> (n, 384)` unit float32 MiniLM vectors (sentence-transformers;
  bulk: training, indexing); `embeddings.cached_embeddings(texts)` / `cached_embedding(text)`
  for reading messages: each text's vector alone, from one shared cache of recent texts.
- `lexical_head.LexicalHead.load().blended(mlp_probabilities, texts)`: the best GoEmotions
  probabilities (MLP + words; English), with its label and Ekman/sentiment thresholds.
- CLI (commands.py): `needtotalk train emotion-head --data DIR`, `needtotalk train
  emotion-lexical --data DIR`, `needtotalk train emotion-prototypes`, `needtotalk classify`.
Data: policies/emotions.yaml, policies/content.yaml; artefacts/ (see its README).
"""
