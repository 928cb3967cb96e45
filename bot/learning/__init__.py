"""Q-table over card types, check-ins and rewards (seed 1 §3.6)."""
