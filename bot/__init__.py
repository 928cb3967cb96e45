"""NeedToTalk: an anonymous peer-support bot, an inverse social network (docs/architecture.md)."""

__version__ = "0.1.0"
