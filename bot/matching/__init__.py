"""Who may see what (seed 1 §3.7), Pos() and the knapsack that picks a reader's feed (seed 2)."""
