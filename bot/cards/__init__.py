"""Anonymous cards: compose, scrub, classify, relay, reactions (seed 1 §3.3-3.5)."""
