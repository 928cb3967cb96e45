"""The counsellor web console: review cases, act on them, reach a person without revealing them."""
