"""NeedToTalk: an anonymous peer-support bot, an inverse social network (../shared/DESIGN.md)."""

__version__ = "0.1.0"
