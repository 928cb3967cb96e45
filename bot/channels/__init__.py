"""Thin adapters between a transport and the conversation core; no decisions here."""
