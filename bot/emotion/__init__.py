"""Text -> emotion evidence: sentence embeddings, lexicons, Japanese tokenisation."""
