"""The adaptive pre-assessment: question bank, information-gain policy, LLM refiner (seed 1)."""
