"""The adaptive pre-assessment: question bank, information-gain policy, LLM refiner.

Seed 1 §3.6 step 1. Entry points: `load_engine(settings)` (bot.assessment.loading) and
`AssessmentEngine` (bot.assessment.engine).
"""
