"""Conversation features, one module each: the commands, buttons and states they own."""
